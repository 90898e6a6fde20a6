using GenSharp.Models;

namespace GenSharp.Training;

/// <summary>A named model shape plus training settings.</summary>
public sealed record Preset(string Name, string Description, LlamaConfig Model, TrainOptions Train)
{
    public static readonly IReadOnlyList<Preset> All =
    [
        new("nano-cpu", "nanoGPT's CPU config: 4 layers, 4 heads, 128 dims, context 64, batch 12, 2000 steps",
            new LlamaConfig { HiddenSize = 128, IntermediateSize = 344, NumLayers = 4, NumHeads = 4, NumKvHeads = 4, MaxPositions = 64 },
            new TrainOptions()),
        new("small-cpu", "bundled-model config: 6 layers, 6 heads, 192 dims, context 128, batch 32, 3000 steps, dropout 0.1",
            new LlamaConfig { HiddenSize = 192, IntermediateSize = 512, NumLayers = 6, NumHeads = 6, NumKvHeads = 6, MaxPositions = 128, HiddenDropout = 0.1 },
            new TrainOptions { Steps = 3000, BatchSize = 32, LearningRate = 1e-3, MinLr = 1e-4, WarmupSteps = 100, EvalInterval = 250 }),
        new("tiny", "smoke-test config: 2 layers, 32 dims, context 32, 200 steps",
            new LlamaConfig { HiddenSize = 32, IntermediateSize = 88, NumLayers = 2, NumHeads = 2, NumKvHeads = 2, MaxPositions = 32 },
            new TrainOptions { Steps = 200, BatchSize = 8, EvalInterval = 50, EvalIters = 4, WarmupSteps = 10, LearningRate = 3e-3, MinLr = 3e-4 }),
    ];

    public static Preset Get(string name) =>
        All.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"unknown preset '{name}' (choose one of: {string.Join(", ", All.Select(p => p.Name))})");
}
