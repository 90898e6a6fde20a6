using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Models;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// A LoRA adapter in PEFT's layout, so PEFT and transformers read what GenSharp writes and the other way round:
/// <c>adapter_config.json</c> (peft_type LORA, r, lora_alpha, target_modules, base_model_name_or_path, …) and
/// <c>adapter_model.safetensors</c> with PEFT's tensor names
/// (<c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>). Every key of the config is honoured or
/// refused by name; the tensors are checked against the model (names, shapes, dtype) before anything is attached.
/// </summary>
public static class LoraAdapter
{
    public const string ConfigFile = "adapter_config.json", WeightsFile = "adapter_model.safetensors";
    const string Prefix = "base_model.model.";

    /// <summary>
    /// Writes the model's attached adapter (atomically, file by file). With a grown vocabulary, pass the tokenizer: the
    /// whole embedding and output layers go in too (PEFT's modules_to_save) and tokenizer.json beside them.
    /// </summary>
    public static void Save(string dir, LlamaForCausalLM model, LoraConfig config, string baseModel, Tokenizers.ITokenizer? grownTokenizer = null)
    {
        var layers = model.LoraLayers;
        if (layers.Count == 0) throw new InvalidOperationException("the model has no LoRA adapter to save");
        Directory.CreateDirectory(dir);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (path, layer) in layers)
        {
            tensors[$"{Prefix}{path}.lora_A.weight"] = layer.A;
            tensors[$"{Prefix}{path}.lora_B.weight"] = layer.B;
        }
        if (grownTokenizer is not null)
        {
            foreach (var (name, weight) in model.VocabularyWeights) tensors[$"{Prefix}{name}.weight"] = weight;
            grownTokenizer.Save(Path.Combine(dir, ModelDirectory.TokenizerFile));
        }
        SafeTensors.Save(Path.Combine(dir, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var json = new JsonObject
        {
            ["peft_type"] = "LORA", ["task_type"] = "CAUSAL_LM", ["base_model_name_or_path"] = baseModel,
            ["r"] = config.Rank, ["lora_alpha"] = config.Alpha, ["lora_dropout"] = config.Dropout,
            ["target_modules"] = new JsonArray([.. config.TargetModules.Select(t => (JsonNode)t)]),
            ["bias"] = "none", ["fan_in_fan_out"] = false, ["inference_mode"] = true, ["init_lora_weights"] = true,
            ["modules_to_save"] = grownTokenizer is null ? null : new JsonArray([.. model.VocabularyWeights.Select(w => (JsonNode)w.Name.Split('.')[^1])]),
            ["use_rslora"] = false, ["use_dora"] = false, ["layers_to_transform"] = null,
            ["layers_pattern"] = null, ["rank_pattern"] = new JsonObject(), ["alpha_pattern"] = new JsonObject(), ["revision"] = null,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    // Keys PEFT writes that change nothing when they hold these values; any other value is a feature GenSharp does not have.
    static readonly Dictionary<string, Func<JsonNode?, bool>> Neutral = new()
    {
        ["bias"] = v => (string?)v is null or "none",
        ["fan_in_fan_out"] = v => v is null || !(bool)v,
        ["use_dora"] = v => v is null || !(bool)v,
        ["use_rslora"] = v => v is null || !(bool)v,
        ["modules_to_save"] = v => v is null || v is JsonArray a && a.All(m => (string?)m is "embed_tokens" or "lm_head"),
        ["layers_to_transform"] = v => v is null,
        ["layers_pattern"] = v => v is null || v is JsonArray { Count: 0 },
        ["rank_pattern"] = v => v is null || v is JsonObject { Count: 0 },
        ["alpha_pattern"] = v => v is null || v is JsonObject { Count: 0 },
        ["megatron_config"] = v => v is null,
        ["loftq_config"] = v => v is null || v is JsonObject { Count: 0 },
    };

    static readonly string[] Informational =
        ["peft_type", "task_type", "base_model_name_or_path", "r", "lora_alpha", "lora_dropout", "target_modules", "inference_mode",
         "init_lora_weights", "revision", "auto_mapping", "megatron_core", "exclude_modules", "lora_bias", "runtime_config", "eva_config",
         "corda_config", "trainable_token_indices", "layer_replication", "qalora_group_size", "use_qalora"];

    /// <summary>Reads and checks <c>adapter_config.json</c>; errors name the file and the key.</summary>
    public static (LoraConfig Config, string? BaseModel) ReadConfig(string dir)
    {
        var path = Path.Combine(dir, ConfigFile);
        if (!Directory.Exists(dir)) throw new ModelLoadException($"{dir}: adapter directory not found");
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: file not found (is {dir} a LoRA adapter in PEFT's layout?)");
        ModelLoadException Bad(string problem) => new($"{path}: {problem}");
        try
        {
            if (JsonNode.Parse(File.ReadAllText(path)) is not JsonObject node) throw Bad("must be a JSON object");
            if ((string?)node["peft_type"] is var type && type != "LORA") throw Bad($"peft_type '{type}' is not supported (LORA)");
            foreach (var (key, value) in node)
            {
                if (Neutral.TryGetValue(key, out var neutral)) { if (!neutral(value)) throw Bad($"{key} = {value?.ToJsonString()} is not supported"); }
                else if (!Informational.Contains(key)) throw Bad($"key '{key}' is not supported");
            }
            if (node["target_modules"] is not JsonArray targets) throw Bad("target_modules must be a list of module names (a regular expression is not supported)");
            var config = new LoraConfig
            {
                Rank = node["r"] is { } r ? (int)r : throw Bad("'r' is missing"),
                Alpha = node["lora_alpha"] is { } a ? (double)a : throw Bad("'lora_alpha' is missing"),
                Dropout = node["lora_dropout"] is { } d ? (double)d : 0,
                TargetModules = [.. targets.Select(t => (string?)t ?? throw Bad("target_modules holds a non-string"))],
            };
            try { config.Validate(); }
            catch (ArgumentException e) { throw Bad(e.Message); }
            return (config, (string?)node["base_model_name_or_path"]);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { throw Bad($"not a valid adapter config ({e.Message})"); }
    }

    // The config (checked) and the tensors (validated by our safetensors reader) of the adapter in dir.
    static (LoraConfig Config, string Path, Dictionary<string, Tensor> Tensors) ReadFiles(string dir)
    {
        var (config, _) = ReadConfig(dir);
        var path = Path.Combine(dir, WeightsFile);
        try { return (config, path, SafeTensors.Load(path)); }
        catch (FileNotFoundException) { throw new ModelLoadException($"{path}: file not found"); }
        catch (SafeTensorsFormatException e) { throw new ModelLoadException(e.Message); }
    }

    /// <summary>
    /// Attaches the adapter in <paramref name="dir"/> to <paramref name="model"/>, after checking every tensor against it.
    /// An adapter that grew the vocabulary (modules_to_save, tokenizer.json) needs a grown model: then the model returned is
    /// a new one (<paramref name="model"/> is disposed) and the tokenizer returned is the adapter's.
    /// </summary>
    public static (LlamaForCausalLM Model, LoraConfig Config, Tokenizers.ITokenizer? Tokenizer) Load(string dir, LlamaForCausalLM model)
    {
        var (config, path, tensors) = ReadFiles(dir);
        try
        {
            Tokenizers.ITokenizer? tokenizer = null;
            if (tensors.TryGetValue($"{Prefix}model.embed_tokens.weight", out var embed))
            {
                var tokenizerPath = Path.Combine(dir, ModelDirectory.TokenizerFile);
                try { tokenizer = Tokenizers.TokenizerJson.Load(tokenizerPath); }
                catch (Exception e) when (e is FileNotFoundException or Tokenizers.TokenizerFormatException)
                { throw new ModelLoadException($"{dir}: the adapter carries the embedding layer (a grown vocabulary) but no usable tokenizer.json ({e.Message})"); }
                int vocab = (int)embed.shape[0];
                if (vocab < model.Config.VocabSize || embed.shape[1] != model.Config.HiddenSize)
                    throw new ModelLoadException($"{path}: the embedding is [{string.Join(", ", embed.shape)}], this model's is [{model.Config.VocabSize}, {model.Config.HiddenSize}] (an adapter for another base model?)");
                if (vocab > model.Config.VocabSize)
                {
                    var grown = model.WithVocabulary(vocab);
                    model.Dispose();
                    model = grown;
                }
            }
            var layers = model.AttachLora(config, seed: 0);
            try
            {
                var expected = new ExpectedTensors(Expected(layers).Targets
                    .Concat(tokenizer is null ? [] : model.VocabularyWeights.Select(w => new KeyValuePair<string, Tensor>($"{Prefix}{w.Name}.weight", w.Weight)))
                    .ToDictionary());
                expected.Check(path, tensors);
                using var _ = no_grad();
                foreach (var (name, target) in expected.Targets) target.copy_(tensors[name]);
            }
            catch
            {
                model.DetachLora();
                throw;
            }
            return (model, config, tokenizer);
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>
    /// Adds the adapter in <paramref name="dir"/> to <paramref name="model"/> as a served adapter named <paramref name="name"/>
    /// (multi-LoRA: rows routed to it share decode steps with the base and other adapters). Returns its bank slot.
    /// An adapter that grows the vocabulary cannot share a base: merge it instead.
    /// </summary>
    public static int Serve(string dir, string name, LlamaForCausalLM model)
    {
        var (config, path, tensors) = ReadFiles(dir);
        try
        {
            if (tensors.Keys.Any(k => k.EndsWith("embed_tokens.weight") || k.EndsWith("lm_head.weight")))
                throw new ModelLoadException($"{dir}: this adapter grows the vocabulary (modules_to_save), so it cannot share the base model's weights; serve its merged model (gensharp lora merge)");
            // Checked against a probe first, so a bad adapter never leaves a half-filled bank slot behind.
            var probe = model.AttachLora(config, seed: 0);
            try { Expected(probe).Check(path, tensors); }
            finally { model.DetachLora(); }
            var (slot, layers) = model.AddServedAdapter(name, config);
            var expected = Expected(layers);
            using var _ = no_grad();
            foreach (var (key, target) in expected.Targets) target.copy_(tensors[key]);
            return slot;
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    sealed record ExpectedTensors(Dictionary<string, Tensor> Targets)
    {
        public void Check(string path, Dictionary<string, Tensor> tensors)
        {
            var missing = Targets.Keys.Except(tensors.Keys).ToList();
            var unexpected = tensors.Keys.Except(Targets.Keys).ToList();
            if (unexpected.Count > 0)
                throw new ModelLoadException($"{path}: tensors this model has no place for: {string.Join(", ", unexpected.Take(3))}{(unexpected.Count > 3 ? ", …" : "")} (an adapter for another model or other target_modules?)");
            if (missing.Count > 0)
                throw new ModelLoadException($"{path}: missing tensors: {string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? ", …" : "")}");
            foreach (var (name, target) in Targets)
            {
                var source = tensors[name];
                if (!source.shape.SequenceEqual(target.shape))
                    throw new ModelLoadException($"{path}: tensor '{name}' has shape [{string.Join(", ", source.shape)}], this model needs [{string.Join(", ", target.shape)}] (an adapter for another base model?)");
                if (source.dtype != target.dtype) throw new ModelLoadException($"{path}: tensor '{name}' is {source.dtype}, expected {target.dtype}");
                if (!isfinite(source).all().item<bool>()) throw new ModelLoadException($"{path}: tensor '{name}' holds NaN or infinite values");
            }
        }
    }

    static ExpectedTensors Expected(IReadOnlyList<(string Path, LoraLayer Layer)> layers) =>
        new(layers.SelectMany(l => new[] { ($"{Prefix}{l.Path}.lora_A.weight", (Tensor)l.Layer.A), ($"{Prefix}{l.Path}.lora_B.weight", l.Layer.B) })
            .ToDictionary(p => p.Item1, p => p.Item2));

    /// <summary>A plain model directory with the adapter folded into the weights: <c>gensharp lora merge</c>.</summary>
    public static void Merge(string modelDir, string adapterDir, string outDir)
    {
        var text = AutoPipeline.OpenText(modelDir, adapter: adapterDir);
        using var model = text.Model;
        model.MergeLora();
        ModelDirectory.Save(outDir, model, text.Tokenizer,
            $"# {Path.GetFileName(Path.GetFullPath(outDir))}\n\n{Path.GetFileName(Path.GetFullPath(modelDir))} with the LoRA adapter {Path.GetFileName(Path.GetFullPath(adapterDir))} merged into its weights (GenSharp).\n");
        var template = Path.Combine(modelDir, Tokenizers.ChatTemplate.FileName);
        if (File.Exists(template)) File.Copy(template, Path.Combine(outDir, Tokenizers.ChatTemplate.FileName), overwrite: true);
    }
}
