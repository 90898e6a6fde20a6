using System.Diagnostics;
using System.Text.Json.Nodes;
using GenSharp.Evaluation;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tests.Cli;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

/// <summary>One way to open a model directory: values checked before allocation, scheduler keys honoured or rejected, NaN refused.</summary>
public sealed class ModelDirectoryTests : TempDirectoryTest
{
    // A copy of a bundled model whose config.json (or another file) the test edits.
    string Copy(string bundled, string name)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(CliRunner.Bundled(bundled))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    static void Edit(string dir, string file, Action<JsonObject> change)
    {
        var path = Path.Combine(dir, file);
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    string LanguageModelWith(string key, JsonNode value)
    {
        var dir = Copy("shakespeare-char", $"lm-{key}-{value.ToJsonString().Replace('"', '_')}");
        Edit(dir, "config.json", c => c[key] = value);
        return dir;
    }

    [Theory]
    [InlineData("num_hidden_layers", 1_000_000_000L, "num_hidden_layers = 1000000000 is outside 1…1024")]
    [InlineData("num_attention_heads", 0L, "num_attention_heads = 0 is outside 1…192")]
    [InlineData("vocab_size", 1_000_000_000L, "vocab_size = 1000000000 is outside 1…1048576")]
    [InlineData("max_position_embeddings", 1L << 40, "malformed config.json")]                       // not even an int32
    [InlineData("num_hidden_layers", 7L, "describes")]                                                // in bounds, but not these weights
    public void OutOfBoundsOrMismatchedConfigsAreRefusedBeforeAllocation(string key, long value, string message)
    {
        var dir = LanguageModelWith(key, value);
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenText(dir));
        Assert.Contains(message, e.Message);
        Assert.Contains(Path.Combine(dir, key == "num_hidden_layers" && value == 7 ? "model.safetensors" : "config.json"), e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}: something was allocated");
    }

    [Fact]
    public void AConfigThatIsNotAnObjectNamesTheFile()
    {
        var dir = Copy("shakespeare-char", "array");
        File.WriteAllText(Path.Combine(dir, "config.json"), "[1, 2, 3]");
        var e = Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenChat(dir));
        Assert.Contains(Path.Combine(dir, "config.json"), e.Message);
        Assert.Contains("JSON object", e.Message);
    }

    [Fact]
    public void NaNWeightsAreAnErrorNamingTheTensor()
    {
        var dir = Copy("shakespeare-char", "nan");
        var path = Path.Combine(dir, "model.safetensors");
        var tensors = SafeTensors.Load(path);
        tensors["model.norm.weight"][3].fill_(float.NaN);
        SafeTensors.Save(path, tensors);
        var e = Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenText(dir));
        Assert.Contains("'model.norm.weight' holds NaN", e.Message);
    }

    [Fact]
    public void NaNOutputsAreErrorsInEvaluationAndGeneration()
    {
        var text = AutoPipeline.OpenText(CliRunner.Bundled());
        using (no_grad()) text.Model.parameters().Last().fill_(float.PositiveInfinity);
        Assert.Contains("loss on this text", Assert.Throws<InvalidDataException>(() => LmEvaluator.Evaluate(text.Model, text.Tokenizer, "ROMEO: hello there")).Message);
        Assert.Contains("NaN or infinite logits", Assert.Throws<InvalidDataException>(() => text.Generate("ROMEO:", new GenerationOptions { MaxTokens = 3 })).Message);

        var gan = new GanPipeline(new GanGenerator(new GanConfig { Channels = 4, LatentDim = 4 }));
        using (no_grad()) gan.Model.parameters().First().fill_(float.NaN);
        Assert.Contains("NaN or infinite pixel", Assert.Throws<InvalidDataException>(() => gan.Generate([0, 1], 0)).Message);
    }

    [Fact]
    public void ImageConfigsAreBoundedBeforeAllocation()
    {
        var dir = Copy("fmnist-diffusion", "wide");
        Edit(dir, "config.json", c => c["base_channels"] = 1_000_000_000);
        Assert.Contains("base_channels = 1000000000 is outside 1…1024", Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenImages(dir)).Message);
    }

    [Theory]
    [InlineData("num_train_timesteps", "1000000000", "num_train_timesteps = 1000000000 is outside 2…100000")]
    [InlineData("beta_schedule", "\"banana\"", "beta_schedule 'banana' is not supported")]
    [InlineData("prediction_type", "\"v_prediction\"", "prediction_type 'v_prediction' is not supported")]
    [InlineData("timestep_spacing", "\"trailing\"", "key 'timestep_spacing' is not supported")]
    [InlineData("clip_sample_range", "2.0", "clip_sample_range = 2 is not supported")]
    [InlineData("_class_name", "\"EulerDiscreteScheduler\"", "_class_name 'EulerDiscreteScheduler' is not supported")]
    public void EverySchedulerKeyIsHonouredOrRejected(string key, string json, string message)
    {
        var dir = Copy("fmnist-diffusion", $"sched-{key}");
        Edit(dir, "scheduler_config.json", c => c[key] = JsonNode.Parse(json));
        var e = Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenImages(dir));
        Assert.Contains(Path.Combine(dir, "scheduler_config.json"), e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ALinearScheduleUsesTheConfiguredBetaRangeAndClipSetting()
    {
        var dir = Copy("fmnist-diffusion", "linear");
        Edit(dir, "scheduler_config.json", c =>
        {
            c["beta_schedule"] = "linear";
            c["beta_start"] = 0.001;
            c["beta_end"] = 0.05;
            c["num_train_timesteps"] = 200;
            c["clip_sample"] = false;
            c["_diffusers_version"] = "0.30.0";   // bookkeeping: allowed
        });
        var pipeline = DiffusionPipeline.Load(dir);
        Assert.Equal(200, pipeline.Schedule.Steps);
        Assert.Equal(0.001, pipeline.Schedule.Betas[0], 12);
        Assert.Equal(0.05, pipeline.Schedule.Betas[^1], 12);
        // Saved and read again, the same schedule and clip setting come back.
        var copy = Path.Combine(_dir, "linear-saved");
        pipeline.Save(copy);
        var node = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "scheduler_config.json")))!;
        Assert.Equal("linear", (string?)node["beta_schedule"]);
        Assert.False((bool)node["clip_sample"]!);
        Assert.Equal(pipeline.Schedule.Betas, DiffusionPipeline.Load(copy).Schedule.Betas);
    }

    [Fact]
    public void AutoPipelineSaysWhatADirectoryHoldsWhenItIsTheWrongKind()
    {
        var e = Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenChat(CliRunner.Bundled("fmnist-diffusion")));
        Assert.Contains("holds an image model (gensharp-unet), not a language model", e.Message);
        Assert.Equal(ModelKind.Classifier, AutoPipeline.Kind(CliRunner.Bundled("fmnist-classifier")));
        Assert.Equal(ModelKind.Language, AutoPipeline.Kind(CliRunner.Bundled()));
        var odd = Copy("shakespeare-char", "odd");
        Edit(odd, "config.json", c => c["model_type"] = "falcon");
        Assert.Contains("model_type 'falcon' is not supported (llama, mistral, qwen2", Assert.Throws<ModelLoadException>(() => AutoPipeline.Kind(odd)).Message);
    }
}
