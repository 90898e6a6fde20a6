using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>What the tasks that adapt a language model (SFT, DPO, GRPO) share: which weights train, what a checkpoint holds,
/// how it is opened again, and the log-probabilities of target tokens.</summary>
internal static class FineTuning
{
    /// <summary>A checkpoint's policy with its chat template: the model directory (full), or the base with the adapter (LoRA).</summary>
    public static ChatPipeline OpenCheckpoint(string baseModel, string method, Checkpoint checkpoint) =>
        method == "full" ? AutoPipeline.OpenChat(checkpoint.ModelDirectory) : AutoPipeline.OpenChat(baseModel, adapter: checkpoint.ModelDirectory);

    /// <summary>
    /// log p of each target token (N, T) under <paramref name="model"/>, zero where the target is
    /// <see cref="Data.SftDataset.IgnoreIndex"/>, and the mask (N, T) of real targets (1/0, float).
    /// </summary>
    public static (Tensor LogProbs, Tensor Mask) TokenLogProbs(LlamaForCausalLM model, Tensor input, Tensor target)
    {
        var mask = target.ne(Data.SftDataset.IgnoreIndex).to(float32);
        var logp = model.forward(input).log_softmax(-1).gather(2, target.clamp_min(0).unsqueeze(-1)).squeeze(-1);   // (N, T)
        return (logp * mask, mask);
    }

    /// <summary>
    /// Every weight (<c>full</c>), or the attached LoRA adapter's A and B (<c>lora</c>) — plus, when the vocabulary grew, the
    /// embedding and output layers whole, since the new rows must learn (PEFT's modules_to_save).
    /// </summary>
    public static List<(string Name, Parameter Weight)> Trainable(LlamaForCausalLM model, string method, bool grownVocabulary = false) =>
        method == "lora"
            ? [.. model.LoraLayers.SelectMany(l => new[] { ($"{l.Path}.lora_A", l.Layer.A), ($"{l.Path}.lora_B", l.Layer.B) })
                .Concat(grownVocabulary ? model.VocabularyWeights.Select(w => { w.Weight.requires_grad = true; return w; }) : [])]
            : [.. model.named_parameters()];

    /// <summary>
    /// A LoRA run saves the adapter in PEFT's layout (with the tokenizer when the vocabulary grew); a full run saves a model
    /// directory with its chat template.
    /// </summary>
    public static void Save(string dir, LlamaForCausalLM model, ITokenizer tokenizer, ChatTemplate template, string method, LoraConfig lora,
        string baseModel, string modelCard, bool grownVocabulary = false)
    {
        if (method == "lora")
        {
            LoraAdapter.Save(dir, model, lora, Path.GetFullPath(baseModel), grownVocabulary ? tokenizer : null);
            IO.AtomicFile.WriteAllText(Path.Combine(dir, ModelDirectory.CardFile), modelCard);
        }
        else
        {
            template.Save(Path.Combine(dir, ChatTemplate.FileName));
            ModelDirectory.Save(dir, model, tokenizer, modelCard);
        }
    }
}
