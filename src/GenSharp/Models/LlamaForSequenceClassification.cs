using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenSharp.Models;

/// <summary>
/// A reward model (HF transformers' LlamaForSequenceClassification): the language model's decoder stack and a linear head
/// without bias, read at each sequence's last token — token ids (B, T) and last positions (B) → scores (B, num_labels).
/// State-dict names are HF's: <c>model.*</c> as in the language model, <c>score.weight</c> (num_labels, hidden).
/// </summary>
public sealed class LlamaForSequenceClassification : Module<Tensor, Tensor, Tensor>
{
    public const string Architecture = "LlamaForSequenceClassification";

    readonly LlamaModel model;
    readonly Linear score;

    public LlamaForSequenceClassification(LlamaConfig config, int numLabels = 1) : base(nameof(LlamaForSequenceClassification))
    {
        if (numLabels is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(numLabels), numLabels, "num_labels must be in 1…1024");
        (Config, NumLabels) = (config.Validate(), numLabels);
        model = new LlamaModel(config);
        score = Linear(config.HiddenSize, numLabels, hasBias: false);
        RegisterComponents();
    }

    public LlamaConfig Config { get; }
    public int NumLabels { get; }

    /// <summary>
    /// Scores (B, num_labels) of ids (B, T) read at positions <paramref name="last"/> (B). Causal attention makes padding
    /// after a row's last token irrelevant, so rows of different lengths share a right-padded batch.
    /// </summary>
    public override Tensor forward(Tensor inputIds, Tensor last)
    {
        var h = model.forward(inputIds);                                                       // (B, T, C)
        var at = h.gather(1, last.view(-1, 1, 1).expand(-1, 1, h.shape[2])).squeeze(1);       // (B, C)
        return score.forward(at);                                                               // (B, num_labels)
    }

    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Expected parameters of a config (the language model's without its output layer, plus the head).</summary>
    public static long ParameterCountOf(LlamaConfig config, int numLabels) =>
        config.ParameterCount - (config.TieWordEmbeddings ? 0 : (long)config.VocabSize * config.HiddenSize) + (long)numLabels * config.HiddenSize;

    /// <summary>
    /// A reward model whose decoder is a copy of <paramref name="lm"/>'s, on its device; the head starts at
    /// N(0, initializer_range) like HF's, from <paramref name="seed"/>.
    /// </summary>
    public static LlamaForSequenceClassification FromLanguageModel(LlamaForCausalLM lm, long seed, int numLabels = 1)
    {
        var rm = new LlamaForSequenceClassification(lm.Config, numLabels);
        rm.to(lm.parameters().First().device);
        using var _ = no_grad();
        var source = lm.Backbone.state_dict();
        foreach (var (name, target) in rm.model.state_dict()) target.copy_(source[name]);
        rm.score.weight!.normal_(0, lm.Config.InitializerRange, new Generator((ulong)seed, rm.score.weight.device));
        rm.train(lm.training);
        return rm;
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>HF's config.json text: the language model's, with this architecture and one label per output.</summary>
    public string ConfigJson()
    {
        var node = JsonNode.Parse(Config.ToJson())!.AsObject();
        node["architectures"] = new JsonArray(Architecture);
        node["num_labels"] = NumLabels;
        node["id2label"] = new JsonObject(Enumerable.Range(0, NumLabels).Select(i => KeyValuePair.Create($"{i}", (JsonNode?)$"LABEL_{i}")));
        node["label2id"] = new JsonObject(Enumerable.Range(0, NumLabels).Select(i => KeyValuePair.Create($"LABEL_{i}", (JsonNode?)i)));
        return node.ToJsonString(Indented);
    }
}
