using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tests.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Pipelines;

public sealed class ChatPipelineTests : TempDirectoryTest
{
    [Fact]
    public void TemplateRendersRolesAndRoundTripsThroughTheModelDirectory()
    {
        ChatMessage[] messages = [new("system", "be brief"), new("user", "hi"), new("assistant", "hello"), new("user", "and?")];
        Assert.Equal("be brief\n\nUSER:\nhi\n\nASSISTANT:\nhello\n\nUSER:\nand?\n\nASSISTANT:\n", ChatTemplate.Default.Render(messages));
        Assert.Throws<ArgumentException>(() => ChatTemplate.Default.Render([new("robot", "x")]));

        var custom = new ChatTemplate { Roles = new Dictionary<string, string> { ["user"] = "<u>{content}</u>", ["assistant"] = "<a>{content}</a>" }, GenerationPrompt = "<a>", Stop = ["</a>"] };
        custom.Save(Path.Combine(_dir, ChatTemplate.FileName));
        var loaded = ChatTemplate.Load(_dir);
        Assert.Equal("<u>x</u><a>", loaded.Render([new("user", "x")]));
        Assert.Equal(["</a>"], loaded.Stop);
        Assert.Same(ChatTemplate.Default, ChatTemplate.Load(Path.Combine(_dir, "elsewhere")));

        File.WriteAllText(Path.Combine(_dir, ChatTemplate.FileName), """{"roles": {"user": "no placeholder"}}""");
        Assert.Contains("{content}", Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(_dir)).Message);
    }

    [Fact]
    public void OldTurnsAreDroppedToFitTheContextButTheSystemMessageStays()
    {
        var (model, tok) = GenerationEngineTests.Tiny(context: 32);
        var template = new ChatTemplate { Roles = new Dictionary<string, string> { ["system"] = "{content}\n", ["user"] = "{content}\n", ["assistant"] = "{content}\n" }, GenerationPrompt = "", Stop = ["\n"] };
        var chat = new ChatPipeline(new TextGenerationPipeline(model, tok), template);
        var options = new GenerationOptions { MaxTokens = 8, Temperature = 0 };   // budget 32 − 8 = 24 tokens
        ChatMessage[] messages = [new("system", "abc"), new("user", "aaaaaaaa"), new("assistant", "bbbbbbbb"), new("user", "cccc")];
        Assert.Equal("abc\nbbbbbbbb\ncccc\n", chat.Prompt(messages, options));   // 4 + 9 + 5 = 18 ≤ 24; with the first turn 27
        var reply = chat.Complete(messages, options).Choices[0];
        Assert.DoesNotContain("\n", reply.Text);
        Assert.Contains("does not fit", Assert.Throws<ContextLengthExceededException>(() => chat.Prompt([new("user", new string('a', 30))], options)).Message);
        Assert.Contains("last message must be from the user", Assert.Throws<ArgumentException>(() => chat.Prompt([new("assistant", "a")], options)).Message);
    }
}
