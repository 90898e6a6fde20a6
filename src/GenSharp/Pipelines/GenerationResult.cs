namespace GenSharp.Pipelines;

public sealed record GenerationResult(IReadOnlyList<Choice> Choices, Usage Usage);

