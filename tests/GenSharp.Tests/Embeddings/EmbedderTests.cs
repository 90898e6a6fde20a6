using System.Text.Json;
using GenSharp.Data;
using GenSharp.Embeddings;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Tests.Embeddings;

/// <summary>The retrieval encoder: hashed features, the InfoNCE loss by hand, inverse-cloze pairs, and training on real man pages.</summary>
public sealed class EmbedderTests : TempDirectoryTest
{
    [Fact]
    public void FeaturesAreWordsBigramsAndCharacterNgramsHashedIntoNonZeroBuckets()
    {
        var words = new FeatureHasher(1 << 20, 1, 0, 0, 100);
        Assert.Equal(2, words.Features("Hello, world!").Length);
        Assert.Equal(words.Features("hello WORLD"), words.Features("Hello, world!"));   // case and punctuation do not matter
        var bigrams = new FeatureHasher(1 << 20, 2, 0, 0, 100);
        Assert.Equal(3, bigrams.Features("one two three").Length - 2);                  // 3 words + 2 bigrams
        // Character 3-grams of "<cat>": "<ca", "cat", "at>" (the whole "<cat>" is the word itself).
        var chars = new FeatureHasher(1 << 20, 1, 3, 3, 100);
        Assert.Equal(1 + 3, chars.Features("cat").Length);
        Assert.Equal(1 + 3 + 2, new FeatureHasher(1 << 20, 1, 3, 4, 100).Features("cat").Length);   // 4-grams "<cat", "cat>"
        // Bounded: only max_words words are read; ids stay in 1…buckets−1 even with two buckets.
        Assert.Equal(5, new FeatureHasher(1 << 20, 1, 0, 0, 5).Features(string.Join(' ', Enumerable.Repeat("w", 50))).Length);
        Assert.All(new FeatureHasher(2, 2, 2, 5, 100).Features("every id is one"), id => Assert.Equal(1, id));
        Assert.Empty(words.Features("  ,;! "));
        // Stable across processes and machines (FNV-1a, not string.GetHashCode): a fixed value.
        Assert.Equal(new FeatureHasher(1 << 18, 1, 0, 0, 10).Features("retrieval"), new FeatureHasher(1 << 18, 1, 0, 0, 10).Features("retrieval"));
        Assert.Equal(1 + (int)(Fnv("retrieval") % ((1u << 18) - 1)), new FeatureHasher(1 << 18, 1, 0, 0, 10).Features("retrieval")[0]);
    }

    static uint Fnv(string s)
    {
        uint h = 0x811C9DC5u;
        foreach (char c in s) { h ^= c; h *= 16777619u; }
        return h;
    }

    [Fact]
    public void InfoNceIsTheSymmetricCrossEntropyOverInBatchNegatives()
    {
        float[,] q = { { 1, 0 }, { 0.6f, 0.8f } }, p = { { 0.8f, 0.6f }, { 0, 1 } };
        const double tau = 0.5;
        // s_ij = q_i·p_j / τ
        double[,] s = new double[2, 2];
        for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) s[i, j] = (q[i, 0] * p[j, 0] + q[i, 1] * p[j, 1]) / tau;
        double Row(int i) => -(s[i, i] - Math.Log(Math.Exp(s[i, 0]) + Math.Exp(s[i, 1])));
        double Col(int j) => -(s[j, j] - Math.Log(Math.Exp(s[0, j]) + Math.Exp(s[1, j])));
        double expected = ((Row(0) + Row(1)) / 2 + (Col(0) + Col(1)) / 2) / 2;
        using var qt = tensor(new float[] { 1, 0, 0.6f, 0.8f }).view(2, 2);
        using var pt = tensor(new float[] { 0.8f, 0.6f, 0, 1 }).view(2, 2);
        Assert.Equal(expected, InfoNce.Loss(qt, pt, tau).item<float>(), 5);
        Assert.Equal(0.5, InfoNce.Accuracy(qt, pt));                                     // q0: 0.8 > 0; q1: its own 0.8 < 0.96 for p0
        Assert.Equal(1.0, InfoNce.Accuracy(qt, qt));                                     // a unit vector is nearest itself

        // A hard negative n joins each query's candidates: softmax over [s_i0, s_i1, q_i·n/τ]; the passages' side is unchanged.
        float[] neg = { 0.6f, -0.8f };
        double Neg(int i) => (q[i, 0] * neg[0] + q[i, 1] * neg[1]) / tau;
        double RowWithNegative(int i) => -(s[i, i] - Math.Log(Math.Exp(s[i, 0]) + Math.Exp(s[i, 1]) + Math.Exp(Neg(i))));
        double withNegative = ((RowWithNegative(0) + RowWithNegative(1)) / 2 + (Col(0) + Col(1)) / 2) / 2;
        using var nt = tensor(neg).view(1, 2);
        Assert.Equal(withNegative, InfoNce.Loss(qt, pt, tau, nt).item<float>(), 5);
        Assert.True(withNegative > expected);
    }

    [Fact]
    public void CroppedQueriesAreShortSpansOfOneOfThePassagesSentences()
    {
        var path = Path.Combine(_dir, "c.jsonl");
        string Text(int i) => $"Passage {i} opens here with quite a few plain words in a row. The second sentence of passage {i} is longer still, and it goes on!";
        File.WriteAllLines(path, Enumerable.Range(0, 40).Select(i => JsonSerializer.Serialize(new { text = Text(i) })));
        var data = PassageDataset.Load(path, 0);
        var lengths = new HashSet<int>();
        foreach (var (query, passage, _) in data.Draw(40, 7, 3, queryWords: 6))
        {
            var words = query.Split(' ');
            Assert.InRange(words.Length, 3, 6);
            lengths.Add(words.Length);
            int own = int.Parse(passage.Split(' ').SkipWhile(w => w != "passage" && w != "Passage").Skip(1).First().TrimEnd(',', '.'));
            var sentences = PassageDataset.Sentences(Text(own)).Select(x => " " + string.Join(' ', System.Text.RegularExpressions.Regex.Matches(x, @"[\p{L}\p{N}]+").Select(m => m.Value)) + " ");
            Assert.Contains(sentences, x => x.Contains(" " + query + " "));             // a contiguous run of one sentence's words
        }
        Assert.True(lengths.Count >= 3, "span lengths vary");
        Assert.All(data.Draw(40, 7, 3), b => Assert.True(b.Query.Split(' ').Length >= 10));   // 0: the whole sentence, as before
    }

    [Fact]
    public void HardNegativesComeFromTheDataByIdAndNeverFromHeldOutOrSkippedPassages()
    {
        var path = Path.Combine(_dir, "n.jsonl");
        string Text(int i) => $"Passage {i} opens here with words. The second sentence of {i} is longer still!";
        var lines = Enumerable.Range(0, 60).Select(i => JsonSerializer.Serialize(new { id = $"p{i}", text = Text(i), negatives = new[] { $"p{(i + 1) % 60}", "short" } })).ToList();
        lines.Add(JsonSerializer.Serialize(new { id = "short", text = "too short" }));   // skipped: a negative naming it is dropped
        File.WriteAllLines(path, lines);
        var data = PassageDataset.Load(path, 0.2);
        Assert.InRange(data.Eval.Count, 3, 25);
        var train = data.Train.Select(p => string.Join(' ', p)).ToList();
        for (int i = 0; i < train.Count; i++)
        {
            int own = int.Parse(train[i].Split(' ')[1]);
            var negatives = data.Negatives[i].Select(j => train[j]).ToList();
            Assert.True(negatives.Count <= 1);
            if (negatives.Count == 1) Assert.Equal(string.Join(' ', PassageDataset.Sentences(Text((own + 1) % 60))), negatives[0]);
            else Assert.DoesNotContain(Text((own + 1) % 60), train);                   // its negative is held out
        }
        var batch = data.Draw(16, 3, 1);
        Assert.All(batch.Where(b => b.Negative is not null), b => Assert.NotEqual(b.Passage, b.Negative));
        Assert.Contains(batch, b => b.Negative is not null);

        File.WriteAllLines(path, [JsonSerializer.Serialize(new { id = "a", text = Text(1), negatives = new[] { "nobody" } }), JsonSerializer.Serialize(new { id = "b", text = Text(2) })]);
        Assert.Contains("n.jsonl:1: negative \"nobody\"", Assert.Throws<InvalidDataException>(() => PassageDataset.Load(path, 0)).Message);
        File.WriteAllLines(path, [JsonSerializer.Serialize(new { id = "a", text = Text(1) }), JsonSerializer.Serialize(new { id = "a", text = Text(2) })]);
        Assert.Contains("n.jsonl:2: id \"a\" appears twice", Assert.Throws<InvalidDataException>(() => PassageDataset.Load(path, 0)).Message);
        File.WriteAllLines(path, [JsonSerializer.Serialize(new { text = Text(1), negatives = "b" })]);
        Assert.Contains("n.jsonl:1: \"negatives\" must be an array", Assert.Throws<InvalidDataException>(() => PassageDataset.Load(path, 0)).Message);
    }

    [Fact]
    public void InverseClozePairsTakeASentenceAsQueryAndMostlyRemoveIt()
    {
        var path = Path.Combine(_dir, "p.jsonl");
        var passages = Enumerable.Range(0, 200).Select(i =>
            JsonSerializer.Serialize(new { text = $"Passage {i} opens here with words. The second sentence of {i} is longer still! A third one, {i}, ends it." })).ToList();
        passages.Add(JsonSerializer.Serialize(new { text = "one short sentence only" }));   // nothing to ask: skipped
        passages.Add(JsonSerializer.Serialize(new { text = string.Join(' ', Enumerable.Range(0, 30).Select(i => $"w{i}")) }));   // one line: 3 runs of ≤ 12 words
        File.WriteAllLines(path, passages);
        var data = PassageDataset.Load(path, 0.1);
        Assert.Equal(1, data.Skipped);
        Assert.Equal(201, data.Train.Count + data.Eval.Count);
        Assert.Contains(data.Train.Concat(data.Eval), p => p.Length == 3 && p[0] == string.Join(' ', Enumerable.Range(0, 12).Select(i => $"w{i}")));
        Assert.InRange(data.Eval.Count, 8, 40);                                          // ~10 % by hash
        Assert.Equal(3, data.Train[0].Length);
        var batch = data.Draw(64, seed: 5, step: 3);
        Assert.Equal(64, batch.Count);
        Assert.Equal(batch, data.Draw(64, seed: 5, step: 3));                            // a function of seed and step
        int removed = 0;
        foreach (var (query, passage, _) in data.Draw(150, 1, 0))
        {
            Assert.InRange(query.Split(' ').Length, 4, 64);
            if (!System.Text.RegularExpressions.Regex.Replace(passage, @"[^\p{L}\p{N} ]", "").Contains(query)) removed++;
        }
        Assert.InRange(removed, 110, 149);                                               // 90 % masked, 10 % kept

        File.WriteAllText(path, "{\"text\": \"A good one. And two.\"}\n[1, 2]\n");
        Assert.Contains("p.jsonl:2", Assert.Throws<InvalidDataException>(() => PassageDataset.Load(path, 0)).Message);
    }

    /// <summary>Real passages: the DESCRIPTION sections of 300 of the machine's man pages, one passage per paragraph group.</summary>
    internal static string ManPassages(string dir, int pages = 300)
    {
        var texts = new List<string>();
        var loader = new GenSharp.Rag.Loaders.ManPageLoader();
        foreach (var file in Directory.EnumerateFiles("/usr/share/man/man1", "*.1.gz").Order(StringComparer.Ordinal).Take(pages))
        {
            try
            {
                var doc = loader.Load(file, File.ReadAllBytes(file));
                texts.AddRange(doc.Sections.Where(s => s.Text.Length > 200).Select(s => s.Text.Length > 1500 ? s.Text[..1500] : s.Text));
            }
            catch (InvalidDataException) { }
        }
        var path = Path.Combine(dir, "passages.jsonl");
        File.WriteAllLines(path, texts.Select(t => JsonSerializer.Serialize(new { text = t })));
        return path;
    }

    [Fact]
    public void TrainingOnManPagesLowersTheLossFindsHeldOutPassagesAndResumes()
    {
        var data = ManPassages(_dir);
        var run = Path.Combine(_dir, "run");
        var opt = new EmbedderOptions
        {
            Data = data, Model = new BagEncoderConfig { Buckets = 1 << 16, HiddenSize = 32 }, Steps = 120, BatchSize = 64, EvalInterval = 60,
            WarmupSteps = 5, LearningRate = 2e-2, MinLr = 2e-3, EvalFraction = 0.1, LogInterval = 5, FeatureDropout = 0.1,
            QueryWords = 0,   // whole-sentence queries, as the held-out pairs are: 120 steps measure the loop, not the recipe
        };
        double before;
        using (var loop = EmbedderTrainer.Create(run, opt, "test", CPU))
        {
            before = loop.Task.Evaluate().Single(m => m.Name == "eval_accuracy").Value;
            var result = loop.Run();
            Assert.Equal(120, result.Step);
        }
        var log = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var losses = log.Where(e => e.TryGetProperty("loss", out _)).Select(e => e.GetProperty("loss").GetDouble()).ToList();
        Assert.True(losses[^1] < losses[0] * 0.7, $"loss {losses[0]:F3} → {losses[^1]:F3}");
        var after = log.Last(e => e.TryGetProperty("eval_accuracy", out _)).GetProperty("eval_accuracy").GetDouble();
        var heldOut = PassageDataset.Load(data, 0.1).Eval.Count;
        Assert.True(after > before + 0.1 && after > 10.0 / heldOut, $"held-out top-1 {before:P1} → {after:P1} among {heldOut} passages");

        using (var embedder = AutoPipeline.OpenEmbedder(run))
        {
            var v = embedder.Embed(["list directory contents", "copy files and directories", ""]);
            Assert.Equal(32, v[0].Length);
            Assert.Equal(1.0, Math.Sqrt(v[0].Sum(x => (double)x * x)), 4);
            Assert.All(v[2], x => Assert.Equal(0f, x));                                  // no words, no direction
        }
        Assert.Contains("holds an embedder (gensharp-bag-encoder), not a language model", Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenText(run)).Message);

        Assert.Contains("--feature-dropout must be in [0, 1)", Assert.Throws<ArgumentException>(() => (opt with { FeatureDropout = 1 }).Validate()).Message);
        Assert.Contains("in-batch negatives need a second passage", Assert.Throws<ArgumentException>(() => (opt with { BatchSize = 1 }).Validate()).Message);

        using var resumed = TrainingLoop.Resume(run, CPU, steps: 130);
        Assert.Equal(120, resumed.Step);
        Assert.Equal(130, resumed.Run().Step);
    }
}
