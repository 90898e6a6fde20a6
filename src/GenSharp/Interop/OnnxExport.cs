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
/// describes itself as an Optimum export does.
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
        switch (config.ModelType)
        {
            case UNetConfig.Type:
                using (var unet = ModelDirectory.LoadModule<UNetConfig, UNet>(config, "U-Net", c => c.Validate(), c => new UNet(c), null))
                    graph = UNetOnnx.Build(unet);
                kind = "diffusion U-Net";
                break;
            default:
                if (AutoPipeline.Kind(config) != ModelKind.Language)
                    throw new ArgumentException($"{config.Path}: ONNX export covers language models (llama, mistral, qwen2) and the diffusion U-Net ({UNetConfig.Type}); this is model_type '{config.ModelType}'");
                var (model, _) = ModelDirectory.Load(config);
                using (model) graph = LlamaOnnx.Build(model);
                kind = $"{model.Config.ModelType} decoder with past key/values";
                break;
        }
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, ModelFile);
        bool external = graph.Save(path, externalData, new Dictionary<string, string> { ["gensharp.source"] = Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/')) });
        foreach (var file in new[] { ModelDirectory.ConfigFile, ModelDirectory.TokenizerFile, "tokenizer_config.json", "chat_template.json", "chat_template.jinja",
                                     "generation_config.json", DiffusionPipeline.SchedulerFile, ModelDirectory.CardFile })
            if (File.Exists(Path.Combine(modelDir, file))) File.Copy(Path.Combine(modelDir, file), Path.Combine(outDir, file), overwrite: true);
        return new OnnxExportResult(path, kind, graph.WeightBytes, external, graph.NodeCount);
    }
}
