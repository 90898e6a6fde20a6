using System.CommandLine;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp align dpo</c>: preference optimisation (DPO or IPO) from preference pairs or the playground's feedback.</summary>
static class AlignCommand
{
    public static Command Create()
    {
        var d = new DpoOptions { BaseModel = "", Data = "" };
        var f = new TrainFlags(DpoTrainer.TaskKind, $"default {d.Steps}");
        var source = new PreferenceSource();
        var model = Cli.Opt<string?>("--model", "The language model to align; it is also the frozen reference (required for a new run)");
        var beta = Cli.Opt("--beta", "β: how far the policy may move from the reference (smaller = further)", d.Beta);
        var loss = Cli.Opt("--loss", "sigmoid (DPO) or ipo", d.Loss);
        var method = Cli.Opt("--method", "full (every weight) or lora (an adapter on a frozen base)", d.Method);
        var rank = Cli.Opt("--lora-rank", "LoRA rank r", d.Lora.Rank);
        var alpha = Cli.Opt("--lora-alpha", "LoRA α (the update is scaled by α/r)", d.Lora.Alpha);
        var targets = Cli.Opt("--lora-targets", "Projections that get an adapter", string.Join(",", d.Lora.TargetModules));
        var system = Cli.Opt<string?>("--system", "System message for conversations that have none");
        var evalFraction = Cli.Opt("--eval-fraction", "Fraction of the pairs held out for evaluation", d.DataOptions.EvalFraction);
        var skipBad = Cli.Opt("--skip-bad", "Skip (and count) malformed rows instead of stopping at the first", false);
        var batch = Cli.Opt("--batch-size", "Pairs per step", d.BatchSize);
        var lr = Cli.Opt<double?>("--lr", $"Peak learning rate (default {d.LearningRate} for lora, 1e-5 for full)");
        var warmup = Cli.Opt("--warmup", "Linear warmup steps", d.WarmupSteps);
        var evalInterval = Cli.Opt("--eval-interval", "Steps between evaluations and checkpoints", d.EvalInterval);
        var dpo = f.Command("dpo", "Align a language model with preference pairs (DPO/IPO against a frozen reference)",
            [model, .. source.Options, beta, loss, method, rank, alpha, targets, system, evalFraction, skipBad, batch, lr, warmup, evalInterval]);
        dpo.SetAction(r => Cli.Run(() => f.Train(r, (dir, dev) =>
        {
            var baseModel = r.GetValue(model) ?? throw new UserError("--model is required (or pass --resume to continue a run)");
            var m = r.GetValue(method)!;
            double peak = r.GetValue(lr) ?? (m == "full" ? 1e-5 : d.LearningRate);
            var opt = d with
            {
                BaseModel = baseModel, Method = m, Beta = r.GetValue(beta), Loss = r.GetValue(loss)!,
                Lora = new LoraConfig { Rank = r.GetValue(rank), Alpha = r.GetValue(alpha), TargetModules = r.GetValue(targets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                DataOptions = new SftDataOptions { System = r.GetValue(system), EvalFraction = r.GetValue(evalFraction), SkipBad = r.GetValue(skipBad) },
                Steps = r.GetValue(f.Steps) ?? d.Steps, BatchSize = r.GetValue(batch), LearningRate = peak, MinLr = peak / 10,
                WarmupSteps = r.GetValue(warmup), EvalInterval = r.GetValue(evalInterval), Seed = r.GetValue(f.Seed) ?? d.Seed,
                Data = "",
            };
            opt = opt.Validate() with { Data = source.Resolve(r, dir) };
            var loop = DpoTrainer.Create(dir, opt, Cli.CommandLine(), dev);
            var task = (DpoTrainer)loop.Task;
            AnsiConsole.MarkupLineInterpolated(
                $"{task.Data.Format} pairs: {task.Data.Train.Count:N0} training, {task.Data.Eval.Count:N0} held-out{(task.Data.Duplicates > 0 ? $", {task.Data.Duplicates} repeats read once" : "")}{(task.Data.Skipped > 0 ? $", {task.Data.Skipped} bad rows skipped" : "")}; {task.TrainableParameters:N0} trainable parameters ({m}); reference log-probabilities cached");
            return loop;
        })));
        return new Command("align", "Align a language model with preferences or rewards") { dpo, Grpo() };
    }

    static Command Grpo()
    {
        var d = new GrpoOptions { BaseModel = "", Prompts = "" };
        var f = new TrainFlags(GrpoTrainer.TaskKind, $"default {d.Steps}");
        var model = Cli.Opt<string?>("--model", "The language model to train; it is also the frozen KL reference (required for a new run)");
        var prompts = Cli.Opt<string?>("--prompts", "JSONL rows {\"prompt\": \"…\" or [messages], \"answer\": \"…\"}");
        var reward = Cli.Opt("--reward", "exact-match (the row's answer), regex:PATTERN, length:MIN-MAX, or a reward-model directory", d.Reward);
        var method = Cli.Opt("--method", "full (every weight) or lora (an adapter on a frozen base)", d.Method);
        var rank = Cli.Opt("--lora-rank", "LoRA rank r", d.Lora.Rank);
        var alpha = Cli.Opt("--lora-alpha", "LoRA α (the update is scaled by α/r)", d.Lora.Alpha);
        var group = Cli.Opt("--group-size", "G: answers sampled per prompt", d.GroupSize);
        var perStep = Cli.Opt("--prompts-per-step", "Prompts per step", d.PromptsPerStep);
        var maxTokens = Cli.Opt("--max-tokens", "New tokens per answer at most", d.MaxNewTokens);
        var temperature = Cli.Opt("--temperature", "Sampling temperature", d.Temperature);
        var beta = Cli.Opt("--beta", "KL coefficient (k3 estimator, to the starting model)", d.Beta);
        var clip = Cli.Opt("--clip", "ε of the clipped ratio", d.Clip);
        var lr = Cli.Opt<double?>("--lr", $"Peak learning rate (default {d.LearningRate} for full, 1e-4 for lora)");
        var evalFraction = Cli.Opt("--eval-fraction", "Fraction of the prompts held out (answered greedily at each evaluation)", d.EvalFraction);
        var evalInterval = Cli.Opt("--eval-interval", "Steps between evaluations and checkpoints", d.EvalInterval);
        var cmd = f.Command("grpo", "Reinforcement learning with checkable rewards (GRPO: group-normalised advantages, clipped ratio, KL to the start)",
            model, prompts, reward, method, rank, alpha, group, perStep, maxTokens, temperature, beta, clip, lr, evalFraction, evalInterval);
        cmd.SetAction(r => Cli.Run(() => f.Train(r, (dir, dev) =>
        {
            var m = r.GetValue(method)!;
            double peak = r.GetValue(lr) ?? (m == "full" ? d.LearningRate : 1e-4);
            var opt = d with
            {
                BaseModel = r.GetValue(model) ?? throw new UserError("--model is required (or pass --resume to continue a run)"),
                Prompts = r.GetValue(prompts) ?? throw new UserError("--prompts is required (or pass --resume to continue a run)"),
                Reward = r.GetValue(reward)!, Method = m,
                Lora = new LoraConfig { Rank = r.GetValue(rank), Alpha = r.GetValue(alpha) },
                GroupSize = r.GetValue(group), PromptsPerStep = r.GetValue(perStep), MaxNewTokens = r.GetValue(maxTokens), Temperature = r.GetValue(temperature),
                Beta = r.GetValue(beta), Clip = r.GetValue(clip), Steps = r.GetValue(f.Steps) ?? d.Steps, LearningRate = peak, MinLr = peak / 10,
                EvalFraction = r.GetValue(evalFraction), EvalInterval = r.GetValue(evalInterval), Seed = r.GetValue(f.Seed) ?? d.Seed,
            };
            var loop = GrpoTrainer.Create(dir, opt.Validate(), Cli.CommandLine(), dev);
            var task = (GrpoTrainer)loop.Task;
            AnsiConsole.MarkupLineInterpolated(
                $"{task.Data.Train.Count:N0} training, {task.Data.Eval.Count:N0} held-out prompts; {opt.GroupSize} samples × {opt.PromptsPerStep} prompts per step; reward {opt.Reward}; {task.TrainableParameters:N0} trainable parameters ({m})");
            return loop;
        })));
        return cmd;
    }
}
