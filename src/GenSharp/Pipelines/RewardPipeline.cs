using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// Scores answers with a reward model: a prompt and a response are tokenized exactly as its training read them (a string
/// prompt and completion concatenated; a conversation rendered with the chat template, the response as the assistant's
/// turn), and the score is the head's output at the last token. Higher is better.
/// </summary>
public sealed class RewardPipeline(LlamaForSequenceClassification model, ITokenizer tokenizer, ChatTemplate template) : IDisposable
{
    public LlamaForSequenceClassification Model => model;
    public ITokenizer Tokenizer => tokenizer;
    public ChatTemplate Template => template;

    /// <summary>The score of <paramref name="response"/> to a plain-text prompt (TRL's standard format).</summary>
    public double Score(string prompt, string response) => Score([(JsonValue.Create(prompt), JsonValue.Create(response))])[0];

    /// <summary>The score of <paramref name="response"/> as the assistant's answer to a conversation (conversational format).</summary>
    public double Score(IReadOnlyList<ChatMessage> conversation, string response) =>
        Score([(Messages(conversation), new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = response }))])[0];

    /// <summary>Scores of many (prompt, response) rows in TRL's formats, in batches of <paramref name="batchSize"/>.</summary>
    public IReadOnlyList<double> Score(IReadOnlyList<(JsonNode Prompt, JsonNode Response)> rows, int batchSize = 32, string source = "input")
    {
        int context = model.Config.MaxPositions - 1;   // the reader allows one token more, for a target a reward model does not have
        var examples = rows.Select((r, i) => SftDataset.Encode(r.Prompt, r.Response, tokenizer, template, context, rows.Count > 1 ? $"{source} row {i + 1}" : source)).ToList();
        var scores = new List<double>(examples.Count);
        var device = model.parameters().First().device;
        using var _ = no_grad();
        foreach (var chunk in examples.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            var (input, last) = PreferenceDataset.Pad(chunk, device);
            scores.AddRange(model.forward(input, last).select(1, 0).to(float64).cpu().data<double>().ToArray());
        }
        return scores;
    }

    /// <summary>
    /// Why this reward model cannot judge the text of a model with <paramref name="generator"/>'s tokenizer — another
    /// vocabulary size, or an id that decodes to other bytes: it was trained from another base — or null when they match.
    /// </summary>
    public string? BaseMismatch(ITokenizer generator)
    {
        if (generator.VocabSize != tokenizer.VocabSize) return $"vocabularies of {generator.VocabSize} and {tokenizer.VocabSize} tokens";
        for (int id = 0; id < generator.VocabSize; id++)
        {
            byte[] a = generator.DecodeBytes([id]), b = tokenizer.DecodeBytes([id]);
            if (!a.AsSpan().SequenceEqual(b))
                return $"token {id} is '{System.Text.Encoding.UTF8.GetString(a)}' for the model and '{System.Text.Encoding.UTF8.GetString(b)}' for the reward model";
        }
        return null;
    }

    static JsonArray Messages(IReadOnlyList<ChatMessage> conversation) =>
        [.. conversation.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })];

    public void Dispose() => model.Dispose();
}
