using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using TorchSharp.Modules;

namespace GenSharp.Training;

/// <summary>What the tasks that adapt a language model (SFT, DPO) share: which weights train, and what a checkpoint holds.</summary>
internal static class FineTuning
{
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
