using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Pipelines;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp score</c>: a reward model's scores of prompt/response pairs.</summary>
static class ScoreCommand
{
    public static Command Create()
    {
        var reward = new Option<string>("--reward") { Description = "The reward model directory (gensharp train reward)", Required = true };
        var prompt = Cli.Opt<string?>("--prompt", "A plain-text prompt (with --response)");
        var response = Cli.Opt<string?>("--response", "The response to score (with --prompt)");
        var data = Cli.Opt<string?>("--data", "JSONL rows {\"prompt\",\"completion\"} (strings or message lists): one score per row");
        var batch = Cli.Opt("--batch-size", "Rows scored at once", 32);
        var compute = new ComputeFlags();
        var cmd = new Command("score", "Score responses with a reward model (higher is better)") { reward, prompt, response, data, batch };
        compute.AddTo(cmd);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dev = compute.Resolve(r);
            if (r.GetValue(batch) is < 1 or > 4096) throw new UserError("--batch-size must be in 1…4096");
            var rows = Rows(r.GetValue(data), r.GetValue(prompt), r.GetValue(response));
            using var pipeline = AutoPipeline.OpenReward(r.GetValue(reward)!, dev);
            var scores = pipeline.Score(rows, r.GetValue(batch), r.GetValue(data) ?? "--prompt/--response");
            foreach (var s in scores) Console.WriteLine(s.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            return 0;
        }));
        return cmd;
    }

    static List<(JsonNode Prompt, JsonNode Response)> Rows(string? data, string? prompt, string? response)
    {
        if (data is not null)
        {
            if (prompt is not null || response is not null) throw new UserError("pass --data, or --prompt with --response, not both");
            if (!File.Exists(data)) throw new UserError($"{data}: file not found");
            var rows = new List<(JsonNode, JsonNode)>();
            int line = 0;
            foreach (var text in File.ReadLines(data))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                JsonNode? node;
                try { node = JsonNode.Parse(text); }
                catch (JsonException e) { throw new UserError($"{data}:{line}: not valid JSON ({e.Message})"); }
                if (node is not JsonObject o || o["prompt"] is not { } p || o["completion"] is not { } c)
                    throw new UserError($"{data}:{line}: expected an object with 'prompt' and 'completion'");
                rows.Add((p, c));
            }
            return rows.Count > 0 ? rows : throw new UserError($"{data}: no rows to score");
        }
        if (prompt is null || response is null) throw new UserError("pass --prompt and --response, or --data FILE.jsonl");
        return [(JsonValue.Create(prompt), JsonValue.Create(response))];
    }
}
