using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>
/// Hyper-parameters of the Llama-style decoder. JSON names equal HF <c>LlamaConfig</c> keys, so a
/// <c>config.json</c> written from this record loads in transformers as <c>LlamaForCausalLM</c>.
/// </summary>
public sealed record LlamaConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 65;                 // set from the tokenizer
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;              // d_model
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 344;  // SwiGLU width, ~8/3·d
    [JsonPropertyName("num_hidden_layers")] public int NumLayers { get; init; } = 4;
    [JsonPropertyName("num_attention_heads")] public int NumHeads { get; init; } = 4;
    [JsonPropertyName("num_key_value_heads")] public int NumKvHeads { get; init; } = 4;        // < NumHeads: grouped-query attention
    [JsonPropertyName("max_position_embeddings")] public int MaxPositions { get; init; } = 64; // context length
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-5;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    [JsonPropertyName("rope_scaling"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RopeScaling? RopeScaling { get; init; }   // linear or llama3
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; } = false;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; } = 0.0;
    /// <summary>Dropout on the residual branches; our extension (HF ignores unknown keys; it is inactive at inference).</summary>
    [JsonPropertyName("hidden_dropout")] public double HiddenDropout { get; init; } = 0.0;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; init; }
    [JsonPropertyName("quantization_config"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public QuantizationConfig? Quantization { get; init; }   // gensharp quantize

    [JsonIgnore] public int HeadDim => HiddenSize / NumHeads;

    /// <summary>The HF family the config came from (llama, mistral, qwen2): the same decoder, written back under its own name.</summary>
    [JsonIgnore] public string ModelType { get; init; } = "llama";

    /// <summary>Biases on the q, k and v projections (Qwen2).</summary>
    [JsonIgnore] public bool QkvBias { get; init; }

    /// <summary>The HF families this decoder reads, and the class transformers loads each with.</summary>
    public static readonly IReadOnlyDictionary<string, string> Families = new Dictionary<string, string>
    {
        ["llama"] = "LlamaForCausalLM", ["mistral"] = "MistralForCausalLM", ["qwen2"] = "Qwen2ForCausalLM",
    };

    /// <summary>Upper bounds checked before allocation; well above today's open models (Llama 3: 128k vocabulary, 126 layers).</summary>
    public const int MaxVocab = 1 << 20, MaxHidden = 1 << 16, MaxIntermediate = 1 << 18, MaxLayers = 1024, MaxContext = 1 << 17;

    /// <summary>Throws with a message naming the first key outside its bounds or inconsistent with another.</summary>
    public LlamaConfig Validate()
    {
        ConfigCheck.Range(VocabSize, "vocab_size", 1, MaxVocab);
        ConfigCheck.Range(HiddenSize, "hidden_size", 1, MaxHidden);
        ConfigCheck.Range(IntermediateSize, "intermediate_size", 1, MaxIntermediate);
        ConfigCheck.Range(NumLayers, "num_hidden_layers", 1, MaxLayers);
        ConfigCheck.Range(NumHeads, "num_attention_heads", 1, HiddenSize);
        ConfigCheck.Require(HiddenSize % NumHeads == 0, $"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumHeads}");
        ConfigCheck.Require(HeadDim % 2 == 0, $"head dim {HeadDim} (hidden_size / num_attention_heads) must be even for rotary embeddings");
        ConfigCheck.Range(NumKvHeads, "num_key_value_heads", 1, NumHeads);
        ConfigCheck.Require(NumHeads % NumKvHeads == 0, $"num_attention_heads {NumHeads} is not a multiple of num_key_value_heads {NumKvHeads}");
        ConfigCheck.Range(MaxPositions, "max_position_embeddings", 1, MaxContext);
        ConfigCheck.Range(AttentionDropout, "attention_dropout", 0, 1, maxExclusive: true);
        ConfigCheck.Range(HiddenDropout, "hidden_dropout", 0, 1, maxExclusive: true);
        ConfigCheck.Range(RmsNormEps, "rms_norm_eps", 0, 1, minExclusive: true);
        ConfigCheck.Range(RopeTheta, "rope_theta", 0, 1e12, minExclusive: true);
        ConfigCheck.Range(InitializerRange, "initializer_range", 0, 10);
        if (BosTokenId is { } bos) ConfigCheck.Range(bos, "bos_token_id", 0, VocabSize - 1);
        if (EosTokenId is { } eos) ConfigCheck.Range(eos, "eos_token_id", 0, VocabSize - 1);
        RopeScaling?.Validate();
        Quantization?.Validate();
        return this;
    }

    /// <summary>Parameters this config describes, computed without building the model (compared with the weights file before loading).</summary>
    [JsonIgnore] public long ParameterCount
    {
        get
        {
            long h = HiddenSize, kv = (long)NumKvHeads * HeadDim, i = IntermediateSize, v = VocabSize;
            long layer = h * h + 2 * h * kv + h * h + 3 * h * i + 2 * h + (QkvBias ? h + 2 * kv : 0);   // q, k, v, o; gate, up, down; two norms; biases
            return v * h * (TieWordEmbeddings ? 1 : 2) + NumLayers * layer + h;
        }
    }

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>HF-compatible config.json text (adds architectures, model_type, dtype, activation).</summary>
    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Options)!.AsObject();
        node.Insert(0, "architectures", new JsonArray(Families[ModelType]));
        node.Insert(1, "model_type", ModelType);
        node["head_dim"] = HeadDim;
        node["hidden_act"] = "silu";
        if (ModelType != "qwen2")   // Qwen2's biases are implied by its type
        {
            node["attention_bias"] = false;
            node["mlp_bias"] = false;
        }
        node["torch_dtype"] = "float32";
        return node.ToJsonString(Options);
    }

    public static LlamaConfig FromJson(string json, string source)
    {
        JsonObject node;
        try { node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("config.json must be a JSON object"); }
        catch (JsonException e) { throw new ArgumentException($"{source}: malformed config.json ({e.Message})"); }
        return FromJson(node, source);
    }

    /// <summary>The config from a parsed config.json; HF defaults where keys are absent; every value checked.</summary>
    public static LlamaConfig FromJson(JsonObject node, string source)
    {
        try
        {
            var type = (string?)node["model_type"] ?? "llama";
            if (!Families.ContainsKey(type)) throw new ArgumentException($"{source}: model_type '{type}' is not supported (supported: {string.Join(", ", Families.Keys)})");
            var cfg = node.Deserialize<LlamaConfig>() ?? throw new JsonException("empty config");
            // HF defaults num_key_value_heads to num_attention_heads when absent.
            if (node["num_key_value_heads"] is null) cfg = cfg with { NumKvHeads = cfg.NumHeads };
            cfg = cfg with { ModelType = type, QkvBias = type == "qwen2" };
            // Features of these families this decoder does not compute are refused by name, never ignored.
            if (node["hidden_act"] is { } act && (string?)act != "silu") throw new ArgumentException($"{source}: hidden_act '{(string?)act}' is not supported (silu)");
            foreach (var key in new[] { "attention_bias", "mlp_bias" })
                if (type != "qwen2" && node[key] is { } flag && (bool)flag) throw new ArgumentException($"{source}: {key} true is not supported");
            // A sliding window at least as long as the context is full attention; a shorter one caps the context at the window.
            bool sliding = type == "mistral" || type == "qwen2" && node["use_sliding_window"] is { } use && (bool)use;
            if (sliding && node["sliding_window"] is JsonValue window && (int)window < cfg.MaxPositions) cfg = cfg with { MaxPositions = (int)window };
            cfg.Validate();
            if (node["head_dim"] is { } hd && (int)hd != cfg.HeadDim)
                throw new ArgumentException($"{source}: head_dim {(int)hd} differs from hidden_size/num_attention_heads = {cfg.HeadDim}");
            return cfg;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        { throw new ArgumentException($"{source}: malformed config.json ({e.Message})"); }
        catch (ArgumentException e) when (!e.Message.StartsWith(source)) { throw new ArgumentException($"{source}: {e.Message}"); }
    }
}
