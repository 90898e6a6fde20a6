namespace GenSharp.Alignment;

/// <summary>The preference objective of <see cref="DpoLoss"/> (TRL's <c>loss_type</c>).</summary>
public enum PreferenceLossType
{
    /// <summary>DPO (Rafailov et al. 2023, eq. 7): −log σ(β·h).</summary>
    Sigmoid,
    /// <summary>IPO (Azar et al. 2023, eq. 17): (h − 1/(2β))², which does not push the margin to infinity.</summary>
    Ipo,
}
