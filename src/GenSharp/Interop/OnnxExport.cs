using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Pipelines;

namespace GenSharp.Interop;

/// <summary>What <see cref="OnnxExport.Export"/> wrote.</summary>
public sealed record OnnxExportResult(string ModelFile, string Kind, long WeightBytes, bool ExternalData, int Nodes);

/// <summary>
/// A model directory as ONNX (opset 17) for ONNX Runtime on servers, phones and browsers: a language model
/// (llama, mistral, qwen2) as a decoder with past key/values (<see cref="LlamaOnnx"/>), or a diffusion U-Net
/// (<see cref="UNetOnnx"/>). The output directory holds model.onnx (weights inline, or in model.onnx.data beside it
/// when asked or when they pass protobuf's 2 GiB) and the source's config, tokenizer and template files, so it
/// describes itself as an Optimum export does; a language model also gets genai_config.json, so ONNX Runtime GenAI runs the
/// directory as it is.
/// </summary>
public static class OnnxExport
{
    public const string ModelFile = "model.onnx";

    /// <param name="externalData">true: weights in model.onnx.data; false: inline (fails past 2 GiB); null: inline when they fit.</param>
    public static OnnxExportResult Export(string modelDir, string outDir, bool? externalData = null)
    {
        if (Path.GetFullPath(modelDir).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/')) throw new ArgumentException("--out must be another directory than --model");
        var config = ModelDirectory.ReadConfigFile(modelDir);
        OnnxGraph graph;
        string kind;
        JsonObject? genai = null;
        switch (config.ModelType)
        {
            case UNetConfig.Type:
                using (var unet = DiffusionPipeline.Load(config).Model)
                    graph = UNetOnnx.Build(unet);
                kind = "diffusion U-Net";
                break;
            default:
                if (AutoPipeline.Kind(config) != ModelKind.Language)
                    throw new ArgumentException($"{config.Path}: ONNX export covers language models (llama, mistral, qwen2) and the diffusion U-Net ({UNetConfig.Type}); this is model_type '{config.ModelType}'");
                var (model, _) = ModelDirectory.Load(config);
                using (model) graph = LlamaOnnx.Build(model);
                kind = $"{model.Config.ModelType} decoder with past key/values";
                genai = GenAiConfig(model.Config);
                break;
        }
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, ModelFile);
        bool external = graph.Save(path, externalData, new Dictionary<string, string> { ["gensharp.source"] = Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/')) });
        foreach (var file in new[] { ModelDirectory.ConfigFile, ModelDirectory.TokenizerFile, "tokenizer_config.json", "chat_template.json", "chat_template.jinja",
                                     "generation_config.json", DiffusionPipeline.SchedulerFile, ModelDirectory.CardFile })
            if (File.Exists(Path.Combine(modelDir, file))) File.Copy(Path.Combine(modelDir, file), Path.Combine(outDir, file), overwrite: true);
        if (genai is not null)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, GenAiConfigFile), genai.ToJsonString(new() { WriteIndented = true }));
            if (!File.Exists(Path.Combine(outDir, "tokenizer_config.json")))   // ONNX Runtime GenAI's tokenizer opens it; the tokens are in tokenizer.json
                AtomicFile.WriteAllText(Path.Combine(outDir, "tokenizer_config.json"), """{"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": false}""");
        }
        return new OnnxExportResult(path, kind, graph.WeightBytes, external, graph.NodeCount);
    }

    public const string GenAiConfigFile = "genai_config.json";

    /// <summary>
    /// ONNX Runtime GenAI's description of the decoder: its sizes, input/output names, and greedy search over the whole
    /// context. Pasts and presents are separate buffers (the graph concatenates), so past_present_share_buffer is off. A
    /// model without an end-of-sequence token gets an empty list, which GenAI reads as "never stop early".
    /// </summary>
    static JsonObject GenAiConfig(LlamaConfig c) => new()
    {
        ["model"] = new JsonObject
        {
            ["type"] = c.ModelType,
            ["vocab_size"] = c.VocabSize,
            ["context_length"] = c.MaxPositions,
            ["bos_token_id"] = c.BosTokenId ?? c.EosTokenId ?? 0,
            ["eos_token_id"] = c.EosTokenId is { } eos ? new JsonArray(eos) : new JsonArray(),
            ["pad_token_id"] = c.EosTokenId ?? 0,
            ["decoder"] = new JsonObject
            {
                ["filename"] = ModelFile,
                ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["provider_options"] = new JsonArray() },
                ["head_size"] = c.HeadDim, ["hidden_size"] = c.HiddenSize, ["num_attention_heads"] = c.NumHeads,
                ["num_hidden_layers"] = c.NumLayers, ["num_key_value_heads"] = c.NumKvHeads,
                ["inputs"] = new JsonObject
                {
                    ["input_ids"] = "input_ids", ["attention_mask"] = "attention_mask", ["position_ids"] = "position_ids",
                    ["past_key_names"] = "past_key_values.%d.key", ["past_value_names"] = "past_key_values.%d.value",
                },
                ["outputs"] = new JsonObject
                {
                    ["logits"] = "logits", ["present_key_names"] = "present.%d.key", ["present_value_names"] = "present.%d.value",
                },
            },
        },
        ["search"] = new JsonObject
        {
            ["do_sample"] = false, ["num_beams"] = 1, ["num_return_sequences"] = 1, ["max_length"] = c.MaxPositions, ["min_length"] = 0,
            ["past_present_share_buffer"] = false, ["temperature"] = 1.0, ["top_k"] = 1, ["top_p"] = 1.0, ["repetition_penalty"] = 1.0,
            ["length_penalty"] = 1.0, ["no_repeat_ngram_size"] = 0, ["diversity_penalty"] = 0.0, ["early_stopping"] = true,
        },
    };
}
