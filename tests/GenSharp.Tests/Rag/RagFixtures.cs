using GenSharp.Extensions.AI;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Tests.Rag;

/// <summary>Documents and embedders the store tests share.</summary>
static class RagFixtures
{
    /// <summary><paramref name="count"/> short text files about <paramref name="topic"/> in <paramref name="root"/>/<paramref name="name"/>.</summary>
    public static string Docs(string root, string name, int count, string topic)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        for (int i = 0; i < count; i++) File.WriteAllText(Path.Combine(dir, $"{topic}{i}.txt"), $"{topic} note {i}: the {topic} of item {i} is kept here. Word{i % 7} and {topic}{i}.");
        return dir;
    }

    /// <summary>
    /// A real model, trained here (300 steps of the tiny preset, ~25 s, context 512 characters) to answer "[n] [n] …" to
    /// anything: a citation the test controls.
    /// </summary>
    public static string TrainCiter(string root, int n)
    {
        var printable = new string([.. Enumerable.Range(32, 95).Select(c => (char)c)]);
        var data = Path.Combine(root, $"citer{n}.txt");
        File.WriteAllText(data, printable + "\n" + string.Concat(Enumerable.Repeat($"[{n}] ", 6000)));
        var model = Path.Combine(root, "citer");
        var train = Cli.CliRunner.Run(null, "train", "lm", "--data", data, "--preset", "tiny", "--context", "512", "--steps", "300", "--out", model, "--threads", "2");
        Assert.True(train.Code == 0, train.Err);
        return model;
    }

    /// <summary>A random (untrained) encoder saved as a model directory: a fixed function of the text, enough to check the plumbing against brute force.</summary>
    public static IndexEmbedder RandomEmbedder(string root, string name, int dims = 16)
    {
        var dir = Path.Combine(root, name);
        TorchSharp.torch.manual_seed(name.Length);
        using var model = new BagEncoder(new BagEncoderConfig { Buckets = 4096, HiddenSize = dims });
        ModelDirectory.SaveModule(dir, model, model.Config.ToJson(), null);
        return new IndexEmbedder(new GenSharpEmbeddingGenerator(AutoPipeline.OpenEmbedder(dir), name), "test:" + name);
    }
}
