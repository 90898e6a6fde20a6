using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Evaluation;

/// <summary>Scores every token of a text once, in consecutive non-overlapping context windows.</summary>
public static class LmEvaluator
{
    public static LmEvalReport Evaluate(LlamaForCausalLM model, ITokenizer tokenizer, string text, int batchSize = 32)
    {
        if (batchSize < 1) throw new ArgumentException($"batch size must be ≥ 1 (got {batchSize})");
        var ids = tokenizer.Encode(text);
        if (ids.Length < 2) throw new ArgumentException($"the evaluation text has {ids.Length} token(s); at least 2 are needed");
        int ctx = model.Config.MaxPositions;
        var device = model.parameters().First().device;
        model.eval();
        using var _ = no_grad();
        double nats = 0;
        long scored = 0;
        var starts = new List<int>();
        for (int s = 0; s < ids.Length - 1; s += ctx) starts.Add(s);
        // Full windows in batches; a shorter last window on its own.
        var full = starts.Where(s => s + ctx <= ids.Length - 1).ToList();
        var groups = full.Chunk(batchSize).Select(c => (Starts: c, Len: ctx)).ToList();
        if (starts.Count > full.Count) groups.Add(([starts[^1]], ids.Length - 1 - starts[^1]));
        foreach (var (batch, len) in groups)
        {
            using var scope = NewDisposeScope();
            var x = new long[batch.Length * len];
            var y = new long[batch.Length * len];
            for (int b = 0; b < batch.Length; b++)
                for (int t = 0; t < len; t++)
                {
                    x[b * len + t] = ids[batch[b] + t];
                    y[b * len + t] = ids[batch[b] + t + 1];
                }
            var logits = model.forward(tensor(x).view(batch.Length, len).to(device));   // (B, T, V)
            nats += F.cross_entropy(logits.view(-1, logits.shape[^1]), tensor(y).to(device), reduction: nn.Reduction.Sum).to(float64).item<double>();
            scored += y.Length;
        }
        double loss = nats / scored;
        if (!double.IsFinite(loss)) throw new InvalidDataException($"the model's loss on this text is {loss}: its weights are damaged or overflow");
        long chars = text.EnumerateRunes().LongCount();
        return new LmEvalReport(scored, chars, loss, Math.Exp(loss), loss / Math.Log(2), nats / Math.Log(2) / chars);
    }
}
