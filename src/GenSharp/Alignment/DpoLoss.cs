using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Alignment;

/// <summary>
/// Direct preference optimisation on log-probabilities of whole answers (summed over their tokens), each (B):
/// <code>
///   h = (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))
///   DPO (Rafailov et al. 2023, eq. 7):   L = −log σ(β·h)
///   IPO (Azar et al. 2023, eq. 17):      L = (h − 1/(2β))²
/// </code>
/// y_w is the chosen answer, y_l the rejected one; the reference's log-probabilities carry no gradient. TRL's IPO
/// averages the log-probabilities over each answer's tokens first; a caller that wants that passes the means.
/// </summary>
public static class DpoLoss
{
    public static DpoTerms Compute(Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected,
        double beta, PreferenceLossType type = PreferenceLossType.Sigmoid)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be a positive number");
        var chosen = policyChosen - referenceChosen.detach();       // log π/π_ref of y_w
        var rejected = policyRejected - referenceRejected.detach(); // log π/π_ref of y_l
        var h = chosen - rejected;
        var loss = type switch
        {
            PreferenceLossType.Sigmoid => -F.logsigmoid(beta * h),
            PreferenceLossType.Ipo => (h - 1 / (2 * beta)).pow(2),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown preference loss"),
        };
        return new DpoTerms(loss.mean(), (beta * chosen).detach(), (beta * rejected).detach());
    }
}
