using GenSharp.Optim;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>The step most tasks take: one backward pass, then a clipped AdamW update unless the loss is NaN/Inf.</summary>
internal static class AdamWSteps
{
    /// <summary>
    /// Back-propagates <paramref name="loss"/>, steps the optimizer at <paramref name="lr"/> (gradient norm clipped to
    /// <paramref name="clip"/>, 0 = no clipping) and clears the gradients. A non-finite loss skips the update and reports a
    /// NaN gradient norm, which the loop's guard turns into a stop.
    /// </summary>
    public static StepLosses Minimize(this AdamW optimizer, Tensor loss, double lr, double clip)
    {
        loss.backward();
        double value = loss.item<float>();
        double gradNorm = double.IsFinite(value) ? optimizer.StepWith(lr, clip) : double.NaN;
        optimizer.ZeroGrad();
        return new StepLosses(value, gradNorm, lr);
    }
}
