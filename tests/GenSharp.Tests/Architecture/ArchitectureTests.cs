using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Fluent.Slices;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using GenSharp.Models;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace GenSharp.Tests.Architecture;

/// <summary>
/// The library's layers, checked on its compiled IL (ArchUnitNET). Bottom to top:
/// Numerics, IO → Models, Tokenizers, Schedulers → Sampling, Data, Optim → Pipelines → Refinement, Evaluation, Training, Interop → the rest.
/// </summary>
public sealed class ArchitectureTests
{
    static readonly ArchUnitNET.Domain.Architecture Core = new ArchLoader().LoadAssemblies(typeof(LlamaForCausalLM).Assembly).Build();

    static IObjectProvider<IType> In(params string[] namespaces) =>
        Types().That().ResideInNamespaceMatching($"^GenSharp\\.({string.Join("|", namespaces)})$").As(string.Join(", ", namespaces));

    [Fact]
    public void TheCorePullsNoPlottingStorageOrAdapterLibraries()
    {
        var references = typeof(LlamaForCausalLM).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        foreach (var moved in new[] { "ScottPlot", "Microsoft.Data.Sqlite", "Microsoft.Extensions.AI.Abstractions", "Microsoft.AspNetCore" })
            Assert.DoesNotContain(references, r => r.StartsWith(moved, StringComparison.Ordinal));
        Assert.Contains("TorchSharp", references);   // the check reads real references
    }

    [Fact]
    public void NamespacesHaveNoCycles() =>
        SliceRuleDefinition.Slices().Matching("GenSharp.(*)").Should().BeFreeOfCycles().Check(Core);

    [Fact]
    public void ModelsMapTensorsToTensorsAndNeedNothingAbove() =>
        Types().That().Are(In("Models")).Should().NotDependOnAny(In("IO", "Tokenizers", "Schedulers", "Sampling", "Data", "Optim", "Pipelines",
            "Evaluation", "Training", "Reporting", "Imaging", "Feedback", "Integration")).Check(Core);

    [Fact]
    public void TheBottomLayersNeedNothingAbove() =>
        Types().That().Are(In("Numerics", "IO")).Should().NotDependOnAny(In("Models", "Tokenizers", "Schedulers", "Sampling", "Data", "Optim",
            "Pipelines", "Evaluation", "Training", "Reporting", "Imaging", "Feedback", "Integration")).Check(Core);

    [Fact]
    public void SchedulersAndSamplingAreInferenceAlgorithmsWithoutTraining() =>
        Types().That().Are(In("Schedulers", "Sampling", "Tokenizers")).Should().NotDependOnAny(In("Optim", "Pipelines", "Evaluation", "Training",
            "Reporting", "Imaging", "Feedback", "Integration")).Check(Core);

    [Fact]
    public void AlignmentAndContrastiveObjectivesArePureTensorFunctions() =>
        Types().That().Are(In("Alignment", "Embeddings")).Should().NotDependOnAny(In("IO", "Models", "Tokenizers", "Schedulers", "Sampling", "Data", "Optim",
            "Pipelines", "Evaluation", "Training", "Reporting", "Imaging", "Feedback", "Integration")).Check(Core);

    [Fact]
    public void PipelinesAreInferenceAndNeverTrain() =>
        Types().That().Are(In("Pipelines")).Should().NotDependOnAny(In("Optim", "Training", "Evaluation", "Refinement", "Feedback", "Integration")).Check(Core);

    [Fact]
    public void RefinementChoosesAmongGenerationsAndNeverTrains() =>
        Types().That().Are(In("Refinement")).Should().NotDependOnAny(In("Optim", "Training", "Evaluation", "Alignment", "Reporting", "Imaging",
            "Feedback", "Integration")).Check(Core);

    [Fact]
    public void InteropConvertsModelDirectoriesAndNothingBelowKnowsOtherFormats() =>
        Types().That().Are(In("Numerics", "IO", "Models", "Tokenizers", "Schedulers", "Sampling", "Data", "Optim", "Pipelines", "Refinement",
            "Evaluation", "Training")).Should().NotDependOnAny(In("Interop")).Check(Core);

    [Fact]
    public void OnlyTheTrainingLoopDrawsPlotsAndGrids() =>
        Types().That().Are(In("Models", "Schedulers", "Sampling", "Pipelines", "Optim", "Data", "Tokenizers")).Should()
            .NotDependOnAny(In("Reporting", "Imaging")).Check(Core);
}
