using GenSharp.Pipelines;
using GenSharp.IO;
using GenSharp.Models;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Writes input ids and our logits for a model directory to a safetensors file, so an independent
/// implementation (bench/reference/hf_llama_check.py) can recompute the logits and compare.
/// </summary>
static class LogitsDump
{
    public static int Run(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("usage: gensharp-bench logits MODEL_DIR OUT.safetensors"); return 2; }
        var (model, tokenizer) = ModelDirectory.Load(args[0]);
        var text = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.";
        var ids = tokenizer.Encode(text).Take(model.Config.MaxPositions).Select(i => (long)i).ToArray();
        using var _ = no_grad();
        var x = tensor(ids).unsqueeze(0);
        var logits = model.forward(x);
        SafeTensors.Save(args[1], new Dictionary<string, Tensor> { ["input_ids"] = x, ["logits"] = logits });
        Console.WriteLine($"wrote {args[1]}: {ids.Length} tokens, logits [{string.Join(", ", logits.shape)}]");
        return 0;
    }
}
