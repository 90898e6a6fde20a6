using Microsoft.ML.OnnxRuntime;

namespace GenSharp.Tests.Interop;

/// <summary>
/// A real ONNX Runtime (Microsoft.ML.OnnxRuntime, CPU) running an exported decoder as a deployment would: the prompt once
/// with empty pasts, then one token per call with the presents fed back as pasts.
/// </summary>
sealed class OnnxDecoder : IDisposable
{
    readonly InferenceSession _session;
    readonly int _layers;
    readonly long _kvHeads, _headDim;

    public OnnxDecoder(string modelFile, int threads = 2)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        _session = new InferenceSession(modelFile, options);
        _layers = _session.InputNames.Count(n => n.EndsWith(".key"));
        var past = _session.InputMetadata["past_key_values.0.key"].Dimensions;   // (batch, kv, past, head_dim); -1 = symbolic
        (_kvHeads, _headDim) = (past[1], past[3]);
    }

    public IReadOnlyList<string> InputNames => _session.InputNames;
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    /// <summary>
    /// One call: <paramref name="ids"/> (B, T) new tokens, <paramref name="mask"/> (B, past + T), positions (B, T), and the
    /// previous presents (null: empty pasts). Returns logits (B·T·vocab, row-major) and the presents, which the caller disposes.
    /// </summary>
    public (float[] Logits, long Vocab, OrtValue[] Presents) Step(long[,] ids, long[,] mask, long[,] positions, OrtValue[]? pasts)
    {
        long b = ids.GetLength(0);
        var inputs = new Dictionary<string, OrtValue>
        {
            ["input_ids"] = Tensor(ids), ["attention_mask"] = Tensor(mask), ["position_ids"] = Tensor(positions),
        };
        var empties = new List<OrtValue>();
        for (int i = 0; i < _layers; i++)
            foreach (var (kind, j) in new[] { ("key", 0), ("value", 1) })
            {
                var value = pasts?[2 * i + j] ?? OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [b, _kvHeads, 0, _headDim]);
                if (pasts is null) empties.Add(value);
                inputs[$"past_key_values.{i}.{kind}"] = value;
            }
        var names = new[] { "logits" }.Concat(Enumerable.Range(0, _layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" })).ToArray();
        using var run = new RunOptions();
        var outputs = _session.Run(run, inputs, names);
        foreach (var v in inputs.Where(p => !p.Key.StartsWith("past_")).Select(p => p.Value).Concat(empties)) v.Dispose();
        var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        long vocab = outputs[0].GetTensorTypeAndShape().Shape[^1];
        outputs[0].Dispose();
        return (logits, vocab, [.. outputs.Skip(1)]);
    }

    /// <summary>The logits of the last prompt position, then <paramref name="steps"/> greedy tokens, one token per call.</summary>
    public (float[] Logits, int[] Greedy, List<float[]> StepLogits) Run(IReadOnlyList<int> prompt, int steps)
    {
        int n = prompt.Count;
        var (logits, vocab, presents) = Step(Row(prompt.Select(i => (long)i)), Row(Enumerable.Repeat(1L, n)), Row(Enumerable.Range(0, n).Select(i => (long)i)), null);
        var last = logits[^(int)vocab..];
        var greedy = new List<int>();
        var stepLogits = new List<float[]>();
        var current = last;
        for (int s = 0; s < steps; s++)
        {
            int next = Array.IndexOf(current, current.Max());
            greedy.Add(next);
            var (l, _, p) = Step(Row([next]), Row(Enumerable.Repeat(1L, n + s + 1)), Row([n + s]), presents);
            foreach (var old in presents) old.Dispose();
            (current, presents) = (l, p);
            stepLogits.Add(l);
        }
        foreach (var old in presents) old.Dispose();
        return (last, [.. greedy], stepLogits);
    }

    static long[,] Row(IEnumerable<long> values)
    {
        var v = values.ToArray();
        var row = new long[1, v.Length];
        for (int i = 0; i < v.Length; i++) row[0, i] = v[i];
        return row;
    }

    static OrtValue Tensor(long[,] values)
    {
        var flat = new long[values.Length];
        Buffer.BlockCopy(values, 0, flat, 0, flat.Length * sizeof(long));
        return OrtValue.CreateTensorValueFromMemory(flat, [values.GetLength(0), values.GetLength(1)]);
    }

    public void Dispose() => _session.Dispose();
}
