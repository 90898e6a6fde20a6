using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Interop;

/// <summary>
/// A language model directory written as the Hugging Face hub lays out a checkpoint, for transformers / accelerate /
/// DeepSpeed (the scale-out path when one machine is not enough): config.json under the model's own family, weights in
/// fp32, bf16 or fp16, in one model.safetensors or in shards of at most a given size with model.safetensors.index.json
/// (the layout transformers' save_pretrained writes), tokenizer.json, and the directory's other files (chat template,
/// generation config, model card) copied. A merged LoRA model is an ordinary model directory, so it exports the same way.
/// </summary>
public static class HfCheckpoint
{
    public static readonly string[] DTypes = ["f32", "bf16", "f16"];

    /// <summary>Writes <paramref name="modelDir"/> to <paramref name="outDir"/>; returns the weight files written.</summary>
    public static IReadOnlyList<string> Export(string modelDir, string outDir, string dtype = "bf16", long maxShardBytes = 5L << 30)
    {
        var (type, torchDtype) = dtype.ToLowerInvariant() switch
        {
            "f32" => (ScalarType.Float32, "float32"), "bf16" => (ScalarType.BFloat16, "bfloat16"), "f16" => (ScalarType.Float16, "float16"),
            _ => throw new ArgumentException($"--dtype must be one of {string.Join(", ", DTypes)} (got '{dtype}')"),
        };
        if (maxShardBytes < 1 << 20) throw new ArgumentException($"the shard size must be at least 1 MiB (got {maxShardBytes:N0} bytes)");
        if (Path.GetFullPath(modelDir).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/')) throw new ArgumentException("--out must be another directory than --model");
        var (model, tokenizer) = ModelDirectory.Load(modelDir);
        using var _ = model;
        Directory.CreateDirectory(outDir);
        foreach (var stale in Directory.EnumerateFiles(outDir, "model*.safetensors*")) File.Delete(stale);   // no shard of an earlier export left behind
        // Shards in parameter order, each closed before it would pass the limit (a tensor larger than the limit is a shard of its own).
        var shards = new List<Dictionary<string, Tensor>> { new() };
        long size = 0, total = 0;
        using var scope = NewDisposeScope();
        foreach (var (name, p) in model.state_dict())
        {
            var t = p.detach().to_type(type);
            long bytes = t.numel() * t.ElementSize;
            if (size > 0 && size + bytes > maxShardBytes) { shards.Add([]); size = 0; }
            shards[^1][name] = t;
            (size, total) = (size + bytes, total + bytes);
        }
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        var files = new List<string>();
        if (shards.Count == 1)
        {
            SafeTensors.Save(Path.Combine(outDir, ModelDirectory.WeightsFile), shards[0], meta);
            files.Add(ModelDirectory.WeightsFile);
        }
        else
        {
            var map = new JsonObject();
            for (int s = 0; s < shards.Count; s++)
            {
                var file = $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors";
                SafeTensors.Save(Path.Combine(outDir, file), shards[s], meta);
                foreach (var name in shards[s].Keys.Order(StringComparer.Ordinal)) map[name] = file;
                files.Add(file);
            }
            AtomicFile.WriteAllText(Path.Combine(outDir, ModelDirectory.WeightsIndexFile),
                new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = map }.ToJsonString(new() { WriteIndented = true }));
        }
        var config = JsonNode.Parse(model.Config.ToJson())!.AsObject();
        config["torch_dtype"] = torchDtype;
        AtomicFile.WriteAllText(Path.Combine(outDir, ModelDirectory.ConfigFile), config.ToJsonString(new() { WriteIndented = true }));
        tokenizer.Save(Path.Combine(outDir, ModelDirectory.TokenizerFile));
        foreach (var extra in new[] { "chat_template.json", "generation_config.json", "tokenizer_config.json", ModelDirectory.CardFile })
            if (File.Exists(Path.Combine(modelDir, extra))) File.Copy(Path.Combine(modelDir, extra), Path.Combine(outDir, extra), overwrite: true);
        return files;
    }
}
