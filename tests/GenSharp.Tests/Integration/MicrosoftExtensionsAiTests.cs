using System.Text;
using GenSharp.Extensions.AI;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;
using Microsoft.Extensions.AI;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace GenSharp.Tests.Integration;

/// <summary>The in-process Microsoft.Extensions.AI adapters over the bundled language model.</summary>
public sealed class MicrosoftExtensionsAiTests
{
    static readonly (LlamaForCausalLM Model, ITokenizer Tokenizer) Lm = ModelDirectory.Load(CliRunner.Bundled());

    static IChatClient Chat() =>
        new GenSharpChatClient(new ChatPipeline(new TextGenerationPipeline(Lm.Model, Lm.Tokenizer), ChatTemplate.Load(CliRunner.Bundled())), "shakespeare-char");

    [Fact]
    public async Task ChatClientAnswersStreamsTheSameTextAndReportsUsage()
    {
        var client = Chat();
        ChatMessage[] messages = [new(ChatRole.System, "Speak in verse."), new(ChatRole.User, "Who comes?")];
        var options = new ChatOptions { MaxOutputTokens = 20, Seed = 9, Temperature = 0.7f };
        var response = await client.GetResponseAsync(messages, options);
        Assert.False(string.IsNullOrEmpty(response.Text));
        Assert.Equal(20, response.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var u in client.GetStreamingResponseAsync(messages, options)) { streamed.Append(u.Text); finish ??= u.FinishReason; }
        Assert.Equal(response.Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.Equal("shakespeare-char", client.GetService<ChatClientMetadata>()!.DefaultModelId);
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([new(ChatRole.Tool, "x")]));
    }

    [Fact]
    public async Task EmbeddingGeneratorGivesOneVectorPerText()
    {
        IEmbeddingGenerator<string, Embedding<float>> gen = new GenSharpEmbeddingGenerator(new TextEmbeddingPipeline(Lm.Model, Lm.Tokenizer), "shakespeare-char");
        var v = await gen.GenerateAsync(["ROMEO", "ROMEO", "JULIET"]);
        Assert.Equal(3, v.Count);
        Assert.Equal(Lm.Model.Config.HiddenSize, v[0].Vector.Length);
        Assert.Equal(v[0].Vector.ToArray(), v[1].Vector.ToArray());
        Assert.NotEqual(v[0].Vector.ToArray(), v[2].Vector.ToArray());
        await Assert.ThrowsAsync<ArgumentException>(() => gen.GenerateAsync([""]));
    }
}
