using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

/// <summary>
/// Checkpoints in the exact layout the Hugging Face hub ships (random weights): config.json with the family's own keys,
/// weights in bf16, f16 or f32, one file or shards with model.safetensors.index.json, tokenizer.json,
/// generation_config.json. The weights are drawn in fp32 and rounded to the file's dtype, so the model a correct reader
/// builds is known exactly (<see cref="Write"/> returns it).
/// </summary>
static class HfFixtures
{
    /// <summary>The rope scalings the fixtures use, by name: linear ×4, or llama3 (×8, bands 1–4, original context 64: every branch taken).</summary>
    public static RopeScaling? Scaling(string? name) => name switch
    {
        "linear" => new RopeScaling { RopeType = "linear", Factor = 4 },
        "llama3" => new RopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalContext = 64 },
        null or "" => null,
        _ => throw new ArgumentException($"no fixture rope scaling '{name}' (linear, llama3)"),
    };

    /// <summary>Writes a <paramref name="family"/> (llama, mistral, qwen2) checkpoint; returns the fp32 model its files hold.</summary>
    public static LlamaForCausalLM Write(string dir, string family, string dtype = "bf16", int shards = 1, bool tied = false, long seed = 1, RopeScaling? ropeScaling = null)
    {
        var text = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n";
        var tokenizer = CharTokenizer.Train(text + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?'\n");
        var config = new LlamaConfig
        {
            ModelType = family, QkvBias = family == "qwen2", VocabSize = tokenizer.VocabSize, HiddenSize = 64, IntermediateSize = 160, NumLayers = 3,
            NumHeads = 8, NumKvHeads = 2, MaxPositions = 256, RopeTheta = family == "qwen2" ? 1_000_000 : 10_000, RmsNormEps = 1e-6,
            TieWordEmbeddings = tied, InitializerRange = 0.1, BosTokenId = 1, EosTokenId = 2, RopeScaling = ropeScaling,
        };
        manual_seed(seed);
        var model = new LlamaForCausalLM(config);
        var storage = dtype switch { "bf16" => ScalarType.BFloat16, "f16" => ScalarType.Float16, "f32" => ScalarType.Float32, _ => throw new ArgumentException(dtype) };
        var state = new Dictionary<string, Tensor>();
        using (no_grad())
            foreach (var (name, p) in model.state_dict())
            {
                if (name.EndsWith(".bias")) p.normal_(0, 0.5);                   // biases large enough to matter
                var stored = p.to_type(storage);
                p.copy_(stored);                                                  // the fp32 model = the file's values widened
                state[name] = stored;
            }
        Directory.CreateDirectory(dir);
        var node = JsonNode.Parse(config.ToJson())!.AsObject();
        node["torch_dtype"] = dtype switch { "bf16" => "bfloat16", "f16" => "float16", _ => "float32" };
        if (family == "mistral") node["sliding_window"] = null;                   // v0.2+: full attention
        if (family == "qwen2") { node["use_sliding_window"] = false; node["sliding_window"] = 32768; node["max_window_layers"] = 21; }
        node["rope_scaling"] ??= null;
        File.WriteAllText(Path.Combine(dir, "config.json"), node.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"bos_token_id": 1, "eos_token_id": 2, "do_sample": true, "temperature": 0.7, "top_p": 0.8}""");
        tokenizer.Save(Path.Combine(dir, "tokenizer.json"));
        if (shards == 1) { SafeTensors.Save(Path.Combine(dir, "model.safetensors"), state, new Dictionary<string, string> { ["format"] = "pt" }); return model; }
        var names = state.Keys.ToList();
        var map = new JsonObject();
        for (int s = 0; s < shards; s++)
        {
            var file = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = names.Where((_, i) => i * shards / names.Count == s).ToDictionary(n => n, n => state[n]);
            SafeTensors.Save(Path.Combine(dir, file), part, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var n in part.Keys) map[n] = file;
        }
        long bytes = state.Values.Sum(t => t.numel() * t.ElementSize);
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = bytes }, ["weight_map"] = map }.ToJsonString());
        return model;
    }
}
