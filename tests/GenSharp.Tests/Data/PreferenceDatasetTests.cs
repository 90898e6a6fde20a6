using System.Text.Json;
using GenSharp.Data;
using GenSharp.Feedback;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Data;

public sealed class PreferenceDatasetTests : JsonlTest
{
    static string Text(SftExample e, bool trained) => Chars.Decode(e.Tokens.Where((_, i) => e.Train[i] == trained).ToArray());

    [Fact]
    public void StandardPairsShareThePromptAndTrainOnlyTheAnswers()
    {
        var path = Jsonl("p.jsonl",
            new { prompt = "Who? ", chosen = "A friend.", rejected = "Nay." },
            new { prompt = "Who? ", chosen = "A friend.", rejected = "Nay." },          // a repeat: read once
            new { prompt = "Stand: ", chosen = "and unfold.", rejected = "no." });
        var data = PreferenceDataset.Load(path, Chars, ChatTemplate.Default, 64, new SftDataOptions { EvalFraction = 0.5 });
        Assert.Equal("standard", data.Format);
        Assert.Equal(1, data.Duplicates);
        var pair = Assert.Single(data.Train);
        Assert.Equal("Who? ", Text(pair.Chosen, trained: false));
        Assert.Equal("Who? ", Text(pair.Rejected, trained: false));
        Assert.Equal("A friend.", Text(pair.Chosen, trained: true));
        Assert.Equal("Nay.", Text(pair.Rejected, trained: true));
        Assert.Equal("and unfold.", Text(Assert.Single(data.Eval).Chosen, trained: true));
    }

    [Fact]
    public void PairsFromARealFeedbackStoreAreRenderedWithTheChatTemplate()
    {
        var db = Path.Combine(_dir, "feedback.db");
        ChatMessage[] q = [new("user", "Who goes there?")];
        using (var store = new FeedbackStore(db))
        {
            store.Add(new Comparison("m", q, "A friend.", "Nay.", null));
            store.Add(new Rating("m", q, "Good.", 1, null));
            store.Add(new Rating("m", q, "Bad.", -1, null));
        }
        List<string> rows;
        using (var store = new FeedbackStore(db)) rows = store.ExportDpo().ToList();
        var data = PreferenceDataset.FromRows(db, rows.Select((json, i) => ($"{db} (pair {i + 1})", json)), Chars, ChatTemplate.Default, 128,
            new SftDataOptions { EvalFraction = 0 });
        Assert.Equal("conversational", data.Format);
        Assert.Equal(2, data.Train.Count);
        var rendered = ChatTemplate.Default.Render([.. q, new ChatMessage("assistant", "A friend.")], addGenerationPrompt: false);
        Assert.Equal(rendered, Chars.Decode(data.Train[0].Chosen.Tokens));
        Assert.StartsWith("Good.", Text(data.Train[1].Chosen, trained: true));
        Assert.StartsWith("Bad.", Text(data.Train[1].Rejected, trained: true));
    }

    [Fact]
    public void BadRowsAreNamedByFileAndLineOrSkippedAndCounted()
    {
        var cases = new (object Row, string Message)[]
        {
            (new { prompt = "Who? ", chosen = "Nay.", rejected = "Nay." }, "'chosen' and 'rejected' are the same answer"),
            (new { chosen = "a", rejected = "b" }, "no 'prompt'"),
            (new { prompt = "Who? ", chosen = "a" }, "expected 'prompt', 'chosen' and 'rejected'"),
            (new { prompt = new[] { new { role = "user", content = "hi" } }, chosen = "a", rejected = "b" }, "'chosen' must be a list of messages"),
            ("{not json", "not valid JSON"),
        };
        var good = new { prompt = "Who? ", chosen = "A friend.", rejected = "Nay." };
        foreach (var (row, message) in cases)
        {
            var path = Jsonl("bad.jsonl", good, row);
            var e = Assert.Throws<InvalidDataException>(() => PreferenceDataset.Load(path, Chars, ChatTemplate.Default, 64, new SftDataOptions()));
            Assert.Contains($"{path}:2: ", e.Message);
            Assert.Contains(message, e.Message);
        }
        var all = PreferenceDataset.Load(Jsonl("all.jsonl", [good, .. cases.Select(c => c.Row)]), Chars, ChatTemplate.Default, 64,
            new SftDataOptions { SkipBad = true, EvalFraction = 0 });
        Assert.Equal(cases.Length, all.Skipped);
        Assert.Single(all.Train);

        object Conversational(string role) => new { prompt = new[] { new { role = "user", content = "hi" } },
            chosen = new[] { new { role, content = "a" } }, rejected = new[] { new { role = "assistant", content = "b" } } };
        var mixed = Jsonl("mixed.jsonl", good, Conversational("assistant"));
        Assert.Contains(":2: a conversational pair in data of standard pairs",
            Assert.Throws<InvalidDataException>(() => PreferenceDataset.Load(mixed, Chars, ChatTemplate.Default, 64, new SftDataOptions())).Message);
        var robot = Jsonl("robot.jsonl", Conversational("assistant"), Conversational("robot"));
        Assert.Contains(":2: chosen[0].role 'robot' is not system, user or assistant",
            Assert.Throws<InvalidDataException>(() => PreferenceDataset.Load(robot, Chars, ChatTemplate.Default, 64, new SftDataOptions())).Message);
        Assert.Contains("no usable preference pairs",
            Assert.Throws<InvalidDataException>(() => PreferenceDataset.Load(Jsonl("empty.jsonl", ""), Chars, ChatTemplate.Default, 64, new SftDataOptions())).Message);
        Assert.Contains("the model's context holds 8",
            Assert.Throws<InvalidDataException>(() => PreferenceDataset.Load(Jsonl("long.jsonl", good), Chars, ChatTemplate.Default, 8, new SftDataOptions())).Message);
    }
}
