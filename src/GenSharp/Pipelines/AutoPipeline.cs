using System.Text.Json.Nodes;
using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// The one way to open a model directory (like transformers' AutoModel and diffusers' AutoPipeline): config.json is read
/// once, the kind is decided once from <c>model_type</c>, every value is checked before anything is allocated, and the
/// right pipeline comes back. Errors name the directory, the file and what it holds.
/// </summary>
public static class AutoPipeline
{
    /// <summary>The kind of model in <paramref name="config"/>; a config without <c>model_type</c> is a Llama model, as in transformers' LlamaConfig.</summary>
    public static ModelKind Kind(ModelConfigFile config) => config.ModelType switch
    {
        null or "llama" or "mistral" or "qwen2" => config.Json["architectures"] is JsonArray a && a.Count == 1 && (string?)a[0] == LlamaForSequenceClassification.Architecture
            ? ModelKind.Reward : ModelKind.Language,
        UNetConfig.Type or VaeConfig.Type or GanConfig.Type => ModelKind.Image,
        ClassifierConfig.Type => ModelKind.Classifier,
        BagEncoderConfig.Type => ModelKind.Embedder,
        var other => throw new ModelLoadException(
            $"{config.Path}: model_type '{other}' is not supported (llama, mistral, qwen2, {UNetConfig.Type}, {VaeConfig.Type}, {GanConfig.Type}, {ClassifierConfig.Type}, {BagEncoderConfig.Type})"),
    };

    /// <summary>The kind of model in <paramref name="dir"/>.</summary>
    public static ModelKind Kind(string dir) => Kind(ModelDirectory.ReadConfigFile(dir));

    /// <summary>A language model and its tokenizer, for text generation, scoring and evaluation; with a LoRA adapter (PEFT layout) when given.</summary>
    public static TextGenerationPipeline OpenText(string dir, Device? device = null, ContextOverflow overflow = ContextOverflow.Stop, string? adapter = null,
        DecodeKernelOptions? kernels = null)
    {
        var (model, tokenizer) = ModelDirectory.Load(Expect(dir, ModelKind.Language, "a language model"), device);
        if (adapter is not null)
        {
            try
            {
                var loaded = LoraAdapter.Load(adapter, model);
                (model, tokenizer) = (loaded.Model, loaded.Tokenizer ?? tokenizer);   // a grown vocabulary comes with its tokenizer
            }
            catch { model.Dispose(); throw; }
        }
        return new TextGenerationPipeline(model, tokenizer, overflow, kernels);
    }

    /// <summary>A language model with its chat template (chat_template.json, or the default), for chat.</summary>
    public static ChatPipeline OpenChat(string dir, Device? device = null, ContextOverflow overflow = ContextOverflow.Stop, string? adapter = null,
        DecodeKernelOptions? kernels = null)
    {
        ChatTemplate template;
        try { template = ChatTemplate.Load(dir); }   // before the weights: a broken template costs no model load
        catch (InvalidDataException e) { throw new ModelLoadException(e.Message); }
        return new ChatPipeline(OpenText(dir, device, overflow, adapter, kernels), template);
    }

    /// <summary>A reward model (LlamaForSequenceClassification) with its tokenizer and chat template, for scoring answers.</summary>
    public static RewardPipeline OpenReward(string dir, Device? device = null)
    {
        var file = Expect(dir, ModelKind.Reward, "a reward model");
        ChatTemplate template;
        try { template = ChatTemplate.Load(dir); }
        catch (InvalidDataException e) { throw new ModelLoadException(e.Message); }
        var (model, tokenizer) = ModelDirectory.LoadReward(file, device);
        return new RewardPipeline(model, tokenizer, template);
    }

    /// <summary>A retrieval encoder (<c>gensharp train embedder</c>), for dense and hybrid search.</summary>
    public static EmbedderPipeline OpenEmbedder(string dir, Device? device = null) =>
        EmbedderPipeline.Load(Expect(dir, ModelKind.Embedder, "an embedder"), device);

    /// <summary>An image model (diffusion, GAN, VAE) as an <see cref="IImageGenerator"/>; <paramref name="sampling"/> applies to diffusion models.</summary>
    public static IImageGenerator OpenImages(string dir, Device? device = null, DiffusionSampling? sampling = null)
    {
        var config = Expect(dir, ModelKind.Image, "an image model");
        return config.ModelType switch
        {
            UNetConfig.Type => ImageGenerators.Diffusion(DiffusionPipeline.Load(config, device), sampling),
            VaeConfig.Type => VaePipeline.Load(config, device),
            _ => GanPipeline.Load(config, device),
        };
    }

    /// <summary>A VAE, for reconstruction, interpolation and anomaly scores.</summary>
    public static VaePipeline OpenVae(string dir, Device? device = null)
    {
        var config = Expect(dir, ModelKind.Image, "a VAE");
        return config.ModelType == VaeConfig.Type ? VaePipeline.Load(config, device)
            : throw new ModelLoadException($"{dir}: holds a {config.ModelType} model, not a VAE ({VaeConfig.Type})");
    }

    static ModelConfigFile Expect(string dir, ModelKind kind, string what)
    {
        var config = ModelDirectory.ReadConfigFile(dir);
        var actual = Kind(config);
        return actual == kind ? config
            : throw new ModelLoadException($"{dir}: holds {Describe(actual, config)}, not {what}");
    }

    static string Describe(ModelKind kind, ModelConfigFile config) => kind switch
    {
        ModelKind.Language => "a language model",
        ModelKind.Image => $"an image model ({config.ModelType})",
        ModelKind.Reward => $"a reward model ({LlamaForSequenceClassification.Architecture})",
        ModelKind.Embedder => $"an embedder ({config.ModelType})",
        _ => $"a classifier ({config.ModelType})",
    };
}
