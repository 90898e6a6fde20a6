namespace GenSharp.Optim;

/// <summary>Linear warmup to the peak rate, then cosine decay to the floor (nanoGPT's get_lr).</summary>
public sealed record CosineSchedule(double PeakLr, double MinLr, int WarmupSteps, int DecaySteps)
{
    /// <summary>Learning rate for 0-based <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (step < WarmupSteps) return PeakLr * (step + 1) / (WarmupSteps + 1);
        if (step > DecaySteps) return MinLr;
        double ratio = (double)(step - WarmupSteps) / Math.Max(1, DecaySteps - WarmupSteps);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * ratio));   // 1 → 0
        return MinLr + coeff * (PeakLr - MinLr);
    }
}
