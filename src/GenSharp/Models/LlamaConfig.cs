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
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; } = false;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; } = 0.0;
    /// <summary>Dropout on the residual branches; our extension (HF ignores unknown keys; it is inactive at inference).</summary>
    [JsonPropertyName("hidden_dropout")] public double HiddenDropout { get; init; } = 0.0;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; init; }

    [JsonIgnore] public int HeadDim => HiddenSize / NumHeads;

    /// <summary>Throws with a message naming the first inconsistent setting.</summary>
    public LlamaConfig Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"invalid model config: {message}"); }
        Require(VocabSize > 0, $"vocab_size must be positive (got {VocabSize})");
        Require(HiddenSize > 0 && NumHeads > 0 && NumLayers > 0 && IntermediateSize > 0, "sizes and counts must be positive");
        Require(HiddenSize % NumHeads == 0, $"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumHeads}");
        Require(HeadDim % 2 == 0, $"head dim {HeadDim} must be even for rotary embeddings");
        Require(NumKvHeads > 0 && NumHeads % NumKvHeads == 0, $"num_attention_heads {NumHeads} is not a multiple of num_key_value_heads {NumKvHeads}");
        Require(MaxPositions > 0, $"max_position_embeddings must be positive (got {MaxPositions})");
        Require(AttentionDropout is >= 0 and < 1 && HiddenDropout is >= 0 and < 1, "dropout must be in [0, 1)");
        Require(RmsNormEps > 0 && RopeTheta > 0, "rms_norm_eps and rope_theta must be positive");
        return this;
    }

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>HF-compatible config.json text (adds architectures, model_type, dtype, activation).</summary>
    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Options)!.AsObject();
        node.Insert(0, "architectures", new JsonArray("LlamaForCausalLM"));
        node.Insert(1, "model_type", "llama");
        node["head_dim"] = HeadDim;
        node["hidden_act"] = "silu";
        node["attention_bias"] = false;
        node["mlp_bias"] = false;
        node["torch_dtype"] = "float32";
        return node.ToJsonString(Options);
    }

    public static LlamaConfig FromJson(string json, string source)
    {
        try
        {
            var node = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("not an object");
            var type = (string?)node["model_type"];
            if (type is not null and not "llama") throw new ArgumentException($"{source}: model_type '{type}' is not supported (expected 'llama')");
            var cfg = node.Deserialize<LlamaConfig>() ?? throw new JsonException("empty config");
            if (node["head_dim"] is { } hd && (int)hd != cfg.HeadDim)
                throw new ArgumentException($"{source}: head_dim {(int)hd} differs from hidden_size/num_attention_heads = {cfg.HeadDim}");
            // HF defaults num_key_value_heads to num_attention_heads when absent.
            if (node["num_key_value_heads"] is null) cfg = cfg with { NumKvHeads = cfg.NumHeads };
            return cfg.Validate();
        }
        catch (JsonException e) { throw new ArgumentException($"{source}: malformed config.json ({e.Message})"); }
        catch (ArgumentException e) when (!e.Message.StartsWith(source)) { throw new ArgumentException($"{source}: {e.Message}"); }
    }
}
