using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Evaluation;

/// <summary>
/// Scores a continuation given a prompt in one forward pass — for reward reranking, RAG evaluation and
/// watermark detection. The prompt and the continuation are tokenized separately, so the continuation's
/// tokens are exactly the ones scored.
/// </summary>
public static class SequenceScorer
{
    public static ContinuationScore Score(LlamaForCausalLM model, ITokenizer tokenizer, string prompt, string continuation)
    {
        var p = tokenizer.Encode(prompt);
        var c = tokenizer.Encode(continuation);
        if (p.Length == 0) throw new ArgumentException("the prompt is empty; scoring needs at least one token of context");
        if (c.Length == 0) throw new ArgumentException("the continuation is empty; there is nothing to score");
        int ctx = model.Config.MaxPositions;
        if (p.Length + c.Length - 1 > ctx)
            throw new ArgumentException($"prompt ({p.Length} tokens) and continuation ({c.Length} tokens) exceed the model's context of {ctx} tokens");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var device = model.parameters().First().device;
        var ids = p.Concat(c.SkipLast(1)).Select(t => (long)t).ToArray();
        var logits = model.forward(tensor(ids, device: device).unsqueeze(0))[0, (p.Length - 1)..];   // (|c|, V): predicts c
        var logp = F.log_softmax(logits, -1).gather(1, tensor(c.Select(t => (long)t).ToArray(), device: device).unsqueeze(1))
            .squeeze(1).cpu().data<float>().ToArray();
        var tokens = c.Select((t, i) => new TokenLogprob(t, tokenizer.Decode([t]), logp[i], [])).ToArray();
        return new ContinuationScore(logp.Sum(x => (double)x), tokens);
    }
}
