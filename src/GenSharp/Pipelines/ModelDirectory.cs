using GenSharp.Models;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Numerics;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;


/// <summary>
/// A model in the Hugging Face layout: <c>config.json</c>, <c>model.safetensors</c>, <c>tokenizer.json</c>
/// and a <c>README.md</c> model card. Every file is written atomically.
/// </summary>
public static class ModelDirectory
{
    public const string ConfigFile = "config.json", WeightsFile = "model.safetensors", TokenizerFile = "tokenizer.json", CardFile = "README.md";

    public static void Save(string dir, LlamaForCausalLM model, ITokenizer tokenizer, string? modelCard = null)
    {
        Directory.CreateDirectory(dir);
        SaveWeights(Path.Combine(dir, WeightsFile), model);
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), model.Config.ToJson());
        tokenizer.Save(Path.Combine(dir, TokenizerFile));
        if (!File.Exists(Path.Combine(dir, ChatTemplate.FileName)) && ChatTemplate.Load(dir).Jinja is null)   // keep a template the user edited, or the checkpoint's own
            ChatTemplate.Default.Save(Path.Combine(dir, ChatTemplate.FileName));
        if (modelCard is not null) AtomicFile.WriteAllText(Path.Combine(dir, CardFile), modelCard);
    }

    public static void SaveWeights(string path, LlamaForCausalLM model) =>
        SafeTensors.Save(path, model.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });

    /// <summary>
    /// A model directory with int8 weights (<c>gensharp quantize</c>): the matrices <see cref="Int8Weights.Names"/> lists as
    /// q8_0 blocks — safetensors I8 values (out, in) and F16 scales <c>NAME_scale</c> (out, in / 32) — the rest fp32, and
    /// config.json's <c>quantization_config</c>. <see cref="Load(string, Device?)"/> reads it back as the same int8 model.
    /// </summary>
    public static void SaveQuantized(string dir, LlamaForCausalLM model, ITokenizer tokenizer, string? modelCard = null)
    {
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var tensors = new Dictionary<string, Tensor>(model.state_dict());
        foreach (var name in Int8Weights.Names(model))
        {
            var w = tensors[name];
            int rows = (int)w.shape[0], columns = (int)w.shape[1], blocks = columns / Q8Matrix.Block;
            var values = w.contiguous().data<float>().ToArray();
            var q = new sbyte[values.Length];
            var d = new Half[rows * blocks];
            for (int b = 0; b < d.Length; b++)
                d[b] = Q8Matrix.QuantizeBlock(values.AsSpan(b * Q8Matrix.Block, Q8Matrix.Block), q.AsSpan(b * Q8Matrix.Block, Q8Matrix.Block));
            tensors[name] = tensor(q, [rows, columns]);
            tensors[name + ScaleSuffix] = tensor(d, [rows, blocks]);
        }
        SafeTensors.Save(Path.Combine(dir, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt", ["quantization"] = QuantizationConfig.Q8_0 });
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), (model.Config with { Quantization = new QuantizationConfig() }).ToJson());
        tokenizer.Save(Path.Combine(dir, TokenizerFile));
        if (!File.Exists(Path.Combine(dir, ChatTemplate.FileName)) && ChatTemplate.Load(dir).Jinja is null)
            ChatTemplate.Default.Save(Path.Combine(dir, ChatTemplate.FileName));
        if (modelCard is not null) AtomicFile.WriteAllText(Path.Combine(dir, CardFile), modelCard);
    }

    /// <summary>The suffix of a q8_0 matrix's scales in a quantized directory (<c>…q_proj.weight_scale</c>).</summary>
    public const string ScaleSuffix = "_scale";

    /// <summary>Loads config, weights and tokenizer onto <paramref name="device"/>, in eval mode.</summary>
    public static (LlamaForCausalLM Model, ITokenizer Tokenizer) Load(string dir, Device? device = null) => Load(ReadConfigFile(dir), device);

    /// <summary>A language model from a config.json that has been read: every value is checked and the weights file's tensors
    /// are counted against the config before anything is allocated.</summary>
    public static (LlamaForCausalLM Model, ITokenizer Tokenizer) Load(ModelConfigFile file, Device? device = null)
    {
        LlamaConfig config;
        try { config = LlamaConfig.FromJson(file.Json, file.Path); }
        catch (ArgumentException e) { throw new ModelLoadException(e.Message); }

        var tokenizer = LoadTokenizer(file, config);
        var weights = WeightFiles(file.Directory);
        long stored = weights.Sum(CountParameters);
        if (stored != config.ParameterCount)
            throw new ModelLoadException($"{string.Join(", ", weights)}: hold {stored:N0} parameters but {file.Path} describes {config.ParameterCount:N0} " +
                $"({config.NumLayers} layers × {config.HiddenSize} dims, vocabulary {config.VocabSize}); the config does not belong to these weights");
        var model = new LlamaForCausalLM(config);
        LoadStateDict(weights, model);
        if (device is not null) model.to(device);
        model.eval();
        if (config.Quantization is not null)
        {
            try { Int8Weights.Apply(model); }   // the same blocks again (quantizing q·d gives q, d): decode runs on them
            catch (ArgumentException e) { model.Dispose(); throw new ModelLoadException($"{file.Path}: an int8 ({QuantizationConfig.Q8_0}) model: {e.Message}"); }
        }
        return (model, tokenizer);
    }

    /// <summary>A reward model directory: HF's LlamaForSequenceClassification config.json and weights, the tokenizer, the chat template.</summary>
    public static void SaveReward(string dir, LlamaForSequenceClassification model, ITokenizer tokenizer, ChatTemplate template, string? modelCard = null)
    {
        Directory.CreateDirectory(dir);
        SafeTensors.Save(Path.Combine(dir, WeightsFile), model.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), model.ConfigJson());
        tokenizer.Save(Path.Combine(dir, TokenizerFile));
        template.Save(Path.Combine(dir, ChatTemplate.FileName));
        if (modelCard is not null) AtomicFile.WriteAllText(Path.Combine(dir, CardFile), modelCard);
    }

    /// <summary>A reward model from a config.json that has been read, checked like a language model (bounds, parameter count, tensors).</summary>
    public static (LlamaForSequenceClassification Model, ITokenizer Tokenizer) LoadReward(ModelConfigFile file, Device? device = null)
    {
        LlamaConfig config;
        int labels;
        try
        {
            config = LlamaConfig.FromJson(file.Json, file.Path);
            labels = file.Json["id2label"] is JsonObject ids ? ids.Count : file.Json["num_labels"] is { } n ? (int)n : 2;   // HF's default is 2
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException) { throw new ModelLoadException(e.Message); }
        if (labels is < 1 or > 1024) throw new ModelLoadException($"{file.Path}: num_labels must be in 1…1024 (got {labels})");
        var tokenizer = LoadTokenizer(file, config);
        var weights = Path.Combine(file.Directory, WeightsFile);
        long stored = CountParameters(weights), expected = LlamaForSequenceClassification.ParameterCountOf(config, labels);
        if (stored != expected)
            throw new ModelLoadException($"{weights}: holds {stored:N0} parameters but {file.Path} describes {expected:N0} " +
                $"({config.NumLayers} layers × {config.HiddenSize} dims, vocabulary {config.VocabSize}, {labels} label(s)); the config does not belong to these weights");
        var model = new LlamaForSequenceClassification(config, labels);
        LoadStateDict(weights, model);
        if (device is not null) model.to(device);
        model.eval();
        return (model, tokenizer);
    }

    static ITokenizer LoadTokenizer(ModelConfigFile file, LlamaConfig config)
    {
        ITokenizer tokenizer;
        try { tokenizer = TokenizerJson.Load(Path.Combine(file.Directory, TokenizerFile)); }
        catch (Exception e) when (e is FileNotFoundException or TokenizerFormatException) { throw new ModelLoadException(e.Message); }
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ModelLoadException($"{file.Directory}: tokenizer has {tokenizer.VocabSize} tokens but config vocab_size is {config.VocabSize}");
        return tokenizer;
    }

    // Elements in a safetensors file, from its header alone.
    static long CountParameters(string path)
    {
        try { return SafeTensors.ReadHeader(path).Tensors.Where(t => !t.Name.EndsWith(".weight" + ScaleSuffix)).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b)); }
        catch (FileNotFoundException) { throw new ModelLoadException($"{path}: file not found"); }
        catch (SafeTensorsFormatException e) { throw new ModelLoadException(e.Message); }
    }

    /// <summary>Reads <paramref name="dir"/>/config.json once; every loader takes the result. Errors name the file.</summary>
    public static ModelConfigFile ReadConfigFile(string dir)
    {
        if (!Directory.Exists(dir)) throw new ModelLoadException($"{dir}: model directory not found");
        var path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: file not found (is {dir} a GenSharp model directory?)");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) is JsonObject json
                ? new ModelConfigFile(dir, path, json)
                : throw new ModelLoadException($"{path}: must be a JSON object");
        }
        catch (JsonException e) { throw new ModelLoadException($"{path}: not valid JSON ({e.Message})"); }
    }

    /// <summary>A module built from <paramref name="dir"/>'s config.json and filled from its model.safetensors, on <paramref name="device"/>, in eval mode.</summary>
    public static TModule LoadModule<TConfig, TModule>(string dir, string what, Func<TConfig, TConfig> validate, Func<TConfig, TModule> create, Device? device)
        where TModule : nn.Module => LoadModule(ReadConfigFile(dir), what, validate, create, device);

    /// <summary>The same, from a config.json that has been read.</summary>
    public static TModule LoadModule<TConfig, TModule>(ModelConfigFile file, string what, Func<TConfig, TConfig> validate, Func<TConfig, TModule> create, Device? device)
        where TModule : nn.Module
    {
        var model = create(file.Parse(what, validate));
        LoadStateDict(Path.Combine(file.Directory, WeightsFile), model);
        if (device is not null) model.to(device);
        model.eval();
        return model;
    }

    /// <summary>Writes any module's weights, config and model card atomically.</summary>
    public static void SaveModule(string dir, nn.Module model, string configJson, string? modelCard)
    {
        Directory.CreateDirectory(dir);
        SafeTensors.Save(Path.Combine(dir, WeightsFile), model.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), configJson);
        if (modelCard is not null) AtomicFile.WriteAllText(Path.Combine(dir, CardFile), modelCard);
    }

    /// <summary>Copies a safetensors file into the model, checking that names, shapes and dtypes match exactly.</summary>
    public static void LoadWeights(string path, LlamaForCausalLM model) => LoadStateDict(path, model);

    public const string WeightsIndexFile = "model.safetensors.index.json";

    /// <summary>
    /// The weight files of a model directory: model.safetensors, or the shards that model.safetensors.index.json's
    /// weight_map names (plain file names in the directory; each tensor must be in the shard the map says).
    /// </summary>
    public static IReadOnlyList<string> WeightFiles(string dir)
    {
        var single = Path.Combine(dir, WeightsFile);
        var index = Path.Combine(dir, WeightsIndexFile);
        if (File.Exists(single) || !File.Exists(index)) return [single];
        JsonObject map;
        try { map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"] as JsonObject ?? throw new ModelLoadException($"{index}: no \"weight_map\" object"); }
        catch (JsonException e) { throw new ModelLoadException($"{index}: not valid JSON ({e.Message})"); }
        var byFile = new Dictionary<string, HashSet<string>>();
        foreach (var (tensor, node) in map)
        {
            var name = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new ModelLoadException($"{index}: weight_map['{tensor}'] is not a file name");
            if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or "..")
                throw new ModelLoadException($"{index}: weight_map['{tensor}'] = '{name}' is not a file in the model directory");
            (byFile.TryGetValue(name, out var set) ? set : byFile[name] = []).Add(tensor);
        }
        foreach (var (name, tensors) in byFile)
        {
            var path = Path.Combine(dir, name);
            var held = SafeTensorNames(path);
            if (tensors.FirstOrDefault(t => !held.Contains(t)) is { } missing) throw new ModelLoadException($"{index}: '{missing}' is not in {name}, as weight_map says");
            if (held.FirstOrDefault(t => !tensors.Contains(t)) is { } stray) throw new ModelLoadException($"{path}: tensor '{stray}' is not in {WeightsIndexFile}'s weight_map");
        }
        return [.. byFile.Keys.Order(StringComparer.Ordinal).Select(n => Path.Combine(dir, n))];
    }

    static HashSet<string> SafeTensorNames(string path)
    {
        try { return [.. SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name)]; }
        catch (FileNotFoundException) { throw new ModelLoadException($"{path}: file not found"); }
        catch (SafeTensorsFormatException e) { throw new ModelLoadException(e.Message); }
    }

    /// <summary>Copies a safetensors file into any module's state dict, checking that names, shapes and dtypes match exactly.</summary>
    public static void LoadStateDict(string path, nn.Module model) => LoadStateDict([path], model);

    /// <summary>
    /// Copies safetensors files (one, or a checkpoint's shards) into a module's state dict: names and shapes must match
    /// exactly; fp16 and bf16 tensors are widened to the module's fp32 (exactly), any other dtype must match.
    /// </summary>
    public static void LoadStateDict(IReadOnlyList<string> paths, nn.Module model)
    {
        var tensors = new Dictionary<string, Tensor>();
        string path = string.Join(", ", paths);
        try
        {
            foreach (var file in paths)
                foreach (var (name, t) in SafeTensors.Load(file))
                    if (!tensors.TryAdd(name, t)) throw new ModelLoadException($"{file}: tensor '{name}' is also in another shard");
        }
        catch (FileNotFoundException e) { throw new ModelLoadException($"{e.FileName ?? path}: file not found"); }
        catch (SafeTensorsFormatException e) { throw new ModelLoadException(e.Message); }
        try
        {
            Dequantize(tensors, path);
            var expected = model.state_dict();
            var missing = expected.Keys.Except(tensors.Keys).ToList();
            var unexpected = tensors.Keys.Except(expected.Keys).ToList();
            if (missing.Count > 0) throw new ModelLoadException($"{path}: missing tensors: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}");
            if (unexpected.Count > 0) throw new ModelLoadException($"{path}: unexpected tensors: {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? ", …" : "")}");
            using var _ = no_grad();
            foreach (var (name, target) in expected)
            {
                var source = tensors[name];
                if (!source.shape.SequenceEqual(target.shape))
                    throw new ModelLoadException($"{path}: tensor '{name}' has shape [{string.Join(", ", source.shape)}], the config needs [{string.Join(", ", target.shape)}]");
                bool widens = source.dtype is ScalarType.Float16 or ScalarType.BFloat16 && target.dtype == ScalarType.Float32;
                if (source.dtype != target.dtype && !widens)
                    throw new ModelLoadException($"{path}: tensor '{name}' is {source.dtype}, expected {target.dtype}");
                if (source.is_floating_point() && !isfinite(source).all().item<bool>())
                    throw new ModelLoadException($"{path}: tensor '{name}' holds NaN or infinite values; the weights are damaged (or came from a run that diverged)");
                target.copy_(source);
            }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    // q8_0 pairs (I8 NAME, F16 NAME_scale) of a quantized directory become fp32 q·d, as Q8Matrix.Dequantize computes them.
    static void Dequantize(Dictionary<string, Tensor> tensors, string path)
    {
        foreach (var scaleName in tensors.Keys.Where(k => k.EndsWith(".weight" + ScaleSuffix)).ToList())
        {
            var name = scaleName[..^ScaleSuffix.Length];
            var scale = tensors[scaleName];
            if (!tensors.TryGetValue(name, out var q) || q.dtype != ScalarType.Int8 || q.dim() != 2)
                throw new ModelLoadException($"{path}: '{scaleName}' has no int8 matrix '{name}' to scale");
            long rows = q.shape[0], columns = q.shape[1];
            if (columns % Q8Matrix.Block != 0 || scale.dtype != ScalarType.Float16 || !scale.shape.SequenceEqual([rows, columns / Q8Matrix.Block]))
                throw new ModelLoadException($"{path}: '{scaleName}' is {scale.dtype} [{string.Join(", ", scale.shape)}]; " +
                    $"q8_0 scales of the [{rows}, {columns}] matrix '{name}' are float16 [{rows}, {columns / Q8Matrix.Block}]");
            if (!isfinite(scale).all().item<bool>()) throw new ModelLoadException($"{path}: '{scaleName}' holds NaN or infinite scales");
            tensors[name] = (q.to(ScalarType.Float32).view(rows, -1, Q8Matrix.Block) * scale.to(ScalarType.Float32).unsqueeze(-1)).view(rows, columns);
            tensors.Remove(scaleName);
            q.Dispose();
            scale.Dispose();
        }
    }

    /// <summary>Reads model-card metrics (<c>metrics.json</c>) if the training run wrote them.</summary>
    public static JsonDocument? ReadMetrics(string dir)
    {
        var path = Path.Combine(dir, "metrics.json");
        return File.Exists(path) ? JsonDocument.Parse(File.ReadAllText(path)) : null;
    }
}
