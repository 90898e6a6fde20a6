using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Sampling;

/// <summary>
/// Beam search over the KV cache (one slot per beam): at each step every live beam is extended by every
/// token, the 2·k best continuations by summed log-probability are kept — those ending in EOS or a stop
/// sequence become finished hypotheses scored sum / length^α — and the k best unfinished ones live on,
/// their cache rows copied from their parents. Deterministic; logit bias, bans and penalties apply,
/// temperature and the sampling filters do not.
/// </summary>
public static class BeamSearch
{
    sealed record Beam(List<int> Tokens, double Sum, TokenHistory History);

    public static IReadOnlyList<BeamHypothesis> Run(LlamaForCausalLM model, ITokenizer tokenizer, int[] prompt, GenerationOptions options, CancellationToken cancel = default)
    {
        options.Validate(model.Config.VocabSize);
        int k = options.Beams, context = model.Config.MaxPositions;
        if (prompt.Length == 0 || prompt.Length >= context) throw new ArgumentException($"the prompt must have 1…{context - 1} tokens (got {prompt.Length})");
        var processors = TokenSampler.BuildProcessors(options with { Temperature = 0 });
        int? eos = options.IgnoreEos ? null : model.Config.EosTokenId;
        var device = model.parameters().First().device;
        using var cache = new KvCache(model.Config, k, device);
        var finished = new List<BeamHypothesis>();
        var live = new List<Beam> { new([], 0, new TokenHistory(prompt)) };
        float[][] logits = [Forward(model, cache, [prompt], device)[0]];

        for (int step = 1; step <= options.MaxTokens && live.Count > 0; step++)
        {
            cancel.ThrowIfCancellationRequested();
            var candidates = new List<(int Parent, int Token, double Sum)>();
            for (int b = 0; b < live.Count; b++)
            {
                var x = (float[])logits[b].Clone();
                foreach (var p in processors) p.Process(x, live[b].History);
                var logp = Distribution.LogSoftmax(x);
                foreach (var t in Distribution.Descending(logp).Take(2 * k))
                    if (float.IsFinite(logp[t])) candidates.Add((b, t, live[b].Sum + logp[t]));
            }
            var next = new List<(Beam Beam, int Parent)>();
            int rank = 0;
            foreach (var (parent, token, sum) in candidates.OrderByDescending(c => c.Sum).Take(2 * k))
            {
                var tokens = new List<int>(live[parent].Tokens) { token };
                bool isEos = token == eos;
                var text = StopAt(tokenizer.Decode(isEos ? tokens.SkipLast(1) : tokens), options.Stop, out bool stopped);
                if (isEos || stopped)
                {
                    if (rank < k) finished.Add(new BeamHypothesis(tokens, text, sum / Math.Pow(tokens.Count, options.LengthPenalty), sum, FinishReason.Stop));
                }
                else if (next.Count < k)
                {
                    var history = live[parent].History.Clone();
                    history.Add(token);
                    next.Add((new Beam(tokens, sum, history), parent));
                }
                rank++;
                if (next.Count == k) break;
            }
            finished = [.. finished.OrderByDescending(h => h.Score).Take(k)];
            bool cannotImprove = next.Count == 0 || finished.Count >= k && finished[^1].Score >= next[0].Beam.Sum / Math.Pow(step, options.LengthPenalty);
            live = [.. next.Select(n => n.Beam)];
            if (cannotImprove || step == options.MaxTokens || cache.Length(0) + 1 > context) break;
            // Beam i continues parent p_i: copy the parents' cache rows, then feed each beam's new token.
            cache.Copy(next.Select(n => n.Parent).ToArray(), Enumerable.Range(0, next.Count).ToArray());
            logits = Forward(model, cache, next.Select(n => (IReadOnlyList<int>)[n.Beam.Tokens[^1]]).ToArray(), device);
        }
        foreach (var b in live)
            finished.Add(new BeamHypothesis(b.Tokens, tokenizer.Decode(b.Tokens), b.Sum / Math.Pow(b.Tokens.Count, options.LengthPenalty), b.Sum, FinishReason.Length));
        return [.. finished.OrderByDescending(h => h.Score).Take(options.N)];
    }

    // Rows of equal length appended to slots 0…B-1; returns each row's last logits.
    static float[][] Forward(LlamaForCausalLM model, KvCache cache, IReadOnlyList<int>[] rows, Device device)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int t = rows[0].Count;
        var ids = tensor(rows.SelectMany(r => r.Select(x => (long)x)).ToArray(), device: device).view(rows.Length, t);
        var logits = model.forward(ids, cache.Begin(Enumerable.Range(0, rows.Length).ToArray(), t))[.., -1];   // (B, V)
        var flat = logits.cpu().data<float>().ToArray();
        int v = flat.Length / rows.Length;
        return Enumerable.Range(0, rows.Length).Select(b => flat[(b * v)..((b + 1) * v)]).ToArray();
    }

    static string StopAt(string text, IReadOnlyList<string>? stops, out bool stopped)
    {
        int cut = -1;
        foreach (var s in stops ?? [])
            if (text.IndexOf(s, StringComparison.Ordinal) is var i and >= 0 && (cut < 0 || i < cut)) cut = i;
        stopped = cut >= 0;
        return stopped ? text[..cut] : text;
    }
}
