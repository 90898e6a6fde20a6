using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// Weights of projections that read the same input (q, k and v) kept end to end in one buffer, in order: the CPU
/// decoder then streams them as one matrix (<see cref="LlamaCpuDecoder"/>), and the multi-LoRA bank stacks its adapters
/// after them. Each weight stays its own <see cref="Parameter"/> (a view), so state dicts, optimizers and autograd see
/// no change; loading copies into place, which keeps the layout.
/// </summary>
internal static class ProjectionStack
{
    /// <summary>Puts the projections' weights end to end in a new buffer (their values copied).</summary>
    public static void Colocate(params Linear[] projections)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        Rehome(projections, cat([.. projections.Select(p => p.weight!)], 0));
    }

    /// <summary>
    /// Makes the weights views of <paramref name="stack"/>'s rows, in order from row 0 (its first rows must hold their
    /// values), and disposes the old ones: the model still holds one copy.
    /// </summary>
    public static void Rehome(IEnumerable<Linear> projections, Tensor stack)
    {
        long at = 0;
        foreach (var projection in projections)
        {
            var w = projection.weight!;
            long rows = w.shape[0];
            projection.weight = (Parameter)new Parameter(stack.narrow(0, at, rows), w.requires_grad).DetachFromDisposeScope();
            w.Dispose();   // the old copy (idempotent if the setter released it already)
            at += rows;
        }
    }
}
