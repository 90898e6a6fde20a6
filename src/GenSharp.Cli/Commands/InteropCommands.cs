using System.CommandLine;
using GenSharp.Interop;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp export</c> (a model directory as GGUF for llama.cpp, ONNX for ONNX Runtime, or the HF layout) and <c>gensharp import</c> (a GGUF file as a model directory).</summary>
static class InteropCommands
{
    public static Command Export()
    {
        var model = new Option<string>("--model") { Description = "The model directory", Required = true };
        var format = Cli.Opt("--format", "Output format: gguf (llama.cpp, Ollama, LM Studio), onnx (ONNX Runtime) or hf (transformers, accelerate, DeepSpeed)", "gguf");
        var type = Cli.Opt("--type", $"gguf: matrix type, {string.Join(", ", LlamaGguf.Types)} (norms stay f32)", "f32");
        var dtype = Cli.Opt("--dtype", $"hf: weight dtype, {string.Join(", ", HfCheckpoint.DTypes)}", "bf16");
        var shard = Cli.Opt("--max-shard-mb", "hf: largest weight file; more weights go in shards with model.safetensors.index.json", 5120L);
        var external = Cli.Opt("--external-data", "onnx: weights in model.onnx.data beside the graph: auto (when past protobuf's 2 GiB), always or never", "auto");
        var output = new Option<string>("--out") { Description = "gguf: the file to write (model.gguf); onnx, hf: the directory", Required = true };
        var cmd = new Command("export", "Write a model for another runtime: GGUF for llama.cpp, Ollama, LM Studio; ONNX for ONNX Runtime; the Hugging Face layout for transformers")
            { model, format, type, dtype, shard, external, output };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dir = Cli.FindShippedOr(r.GetValue(model)!);
            var path = r.GetValue(output)!;
            if (r.GetValue(format) == "hf")
            {
                var files = HfCheckpoint.Export(dir, path, r.GetValue(dtype)!, r.GetValue(shard) << 20);
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{path}[/]: {r.GetValue(dtype)} weights in {files.Count} file(s), config.json, tokenizer.json (Hugging Face layout)");
                return 0;
            }
            if (r.GetValue(format) == "onnx")
            {
                bool? outside = r.GetValue(external) switch
                {
                    "auto" => null, "always" => true, "never" => false,
                    var e => throw new UserError($"--external-data must be auto, always or never (got '{e}')"),
                };
                var onnx = OnnxExport.Export(dir, path, outside);
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{onnx.ModelFile}[/]: {onnx.Kind}, {onnx.Nodes} nodes, {onnx.WeightBytes / 1048576.0:F1} MiB of f32 weights{(onnx.ExternalData ? " in model.onnx.data" : "")} (opset 17)");
                return 0;
            }
            if (r.GetValue(format) is var f && f != "gguf") throw new UserError($"--format must be gguf, onnx or hf (got '{f}')");
            var (tensors, bytes) = LlamaGguf.Export(dir, path, r.GetValue(type)!);
            AnsiConsole.MarkupLineInterpolated($"wrote [bold]{path}[/]: {tensors} tensors, {bytes / 1048576.0:F1} MiB of {r.GetValue(type)} weights (GGUF v3, architecture llama)");
            return 0;
        }));
        return cmd;
    }

    public static Command Import()
    {
        var file = new Argument<string>("file") { Description = "A GGUF file (llama architecture; F32, F16, BF16 or Q8_0 tensors; a GPT-2-style tokenizer)" };
        var output = new Option<string>("--out") { Description = "The model directory to write", Required = true };
        var cmd = new Command("import", "Read a model from another runtime's file (GGUF) into a GenSharp model directory") { file, output };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dir = r.GetValue(output)!;
            var (config, tokenizer) = LlamaGguf.Import(r.GetValue(file)!, dir);
            AnsiConsole.MarkupLineInterpolated($"wrote [bold]{dir}[/]: {config.ParameterCount:N0} parameters, {config.NumLayers} layers, vocabulary {tokenizer.VocabSize} ({tokenizer.GetType().Name})");
            return 0;
        }));
        return cmd;
    }
}
