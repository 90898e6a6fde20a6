using GenSharp.IO;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019) with decoupled weight decay for matrices and embeddings (not norms)
/// and global-norm gradient clipping. Parameters and gradients are re-homed into one flat buffer each,
/// so a step is ~10 tensor ops instead of ~10 per parameter — small models are launch-bound on CPU.
/// Its state saves to safetensors under per-parameter names, so a resumed run continues bit-identically.
/// Create it after the model has been moved to its device.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly (string Name, long Offset, long[] Shape)[] _layout;
    readonly Tensor _params, _grads, _m, _v, _decay;   // flat: values, gradients, 1st/2nd moments, 1 where decayed
    readonly double _beta1, _beta2, _eps, _weightDecay;

    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
    {
        var ps = parameters.ToArray();
        long total = ps.Sum(p => p.Param.numel());
        var first = ps[0].Param;
        using var _ = no_grad();
        _params = empty(total, first.dtype, first.device);
        _grads = zeros(total, first.dtype, first.device);
        _m = zeros(total, first.dtype, first.device);
        _v = zeros(total, first.dtype, first.device);
        _decay = zeros(total, first.dtype, first.device);
        _layout = new (string, long, long[])[ps.Length];
        long offset = 0;
        for (int i = 0; i < ps.Length; i++)
        {
            var (name, p) = ps[i];
            long n = p.numel();
            var slot = _params.narrow(0, offset, n);
            slot.copy_(p.detach().reshape(-1));
            p.set_(slot.view(p.shape));                                    // the parameter now lives in the flat buffer
            p.grad = _grads.narrow(0, offset, n).view(p.shape);            // autograd accumulates into it in place
            if (p.dim() >= 2) _decay.narrow(0, offset, n).fill_(1);
            _layout[i] = (name, offset, p.shape);
            offset += n;
        }
        (_beta1, _beta2, _eps, _weightDecay) = (beta1, beta2, eps, weightDecay);
    }

    /// <summary>Number of steps taken (the bias-correction counter).</summary>
    public long Step { get; private set; }

    public void ZeroGrad()
    {
        using var _ = no_grad();
        _grads.zero_();
    }

    /// <summary>
    /// Clips the gradient to <paramref name="maxGradNorm"/> (0: no clipping) and takes a step. Returns the
    /// gradient norm before clipping; when it is not finite nothing is changed.
    /// </summary>
    public double StepWith(double lr, double maxGradNorm)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        double norm = _grads.norm().item<float>();
        if (!double.IsFinite(norm)) return norm;
        if (maxGradNorm > 0 && norm > maxGradNorm) _grads.mul_(maxGradNorm / (norm + 1e-6));
        Step++;
        double bc1 = 1 - Math.Pow(_beta1, Step), bc2 = 1 - Math.Pow(_beta2, Step);
        if (_weightDecay > 0) _params.addcmul_(_params, _decay, -lr * _weightDecay);   // θ ← θ − ηλθ (Alg. 2, line 12)
        _m.mul_(_beta1).add_(_grads, alpha: 1 - _beta1);                                // m_t
        _v.mul_(_beta2).addcmul_(_grads, _grads, value: 1 - _beta2);                    // v_t
        var denom = _v.sqrt().div_(Math.Sqrt(bc2)).add_(_eps);                          // √v̂_t + ε
        _params.addcdiv_(_m, denom, value: -lr / bc1);                                  // θ ← θ − η m̂_t / (√v̂_t + ε)
        return norm;
    }

    Tensor Slice(Tensor flat, int i) => flat.narrow(0, _layout[i].Offset, _layout[i].Shape.Aggregate(1L, (a, b) => a * b)).view(_layout[i].Shape);

    public void Save(string path)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        for (int i = 0; i < _layout.Length; i++)
        {
            tensors[$"exp_avg.{_layout[i].Name}"] = Slice(_m, i);
            tensors[$"exp_avg_sq.{_layout[i].Name}"] = Slice(_v, i);
        }
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["step"] = Step.ToString() });
    }

    public void Load(string path)
    {
        var tensors = SafeTensors.Load(path, out var meta);
        try
        {
            using var _ = no_grad();
            if (!meta.TryGetValue("step", out var s) || !long.TryParse(s, out var step))
                throw new InvalidDataException($"{path}: optimizer state has no step count");
            for (int i = 0; i < _layout.Length; i++)
            {
                var name = _layout[i].Name;
                if (!tensors.TryGetValue($"exp_avg.{name}", out var m) || !tensors.TryGetValue($"exp_avg_sq.{name}", out var v))
                    throw new InvalidDataException($"{path}: optimizer state lacks parameter '{name}'");
                if (!m.shape.SequenceEqual(_layout[i].Shape) || !v.shape.SequenceEqual(_layout[i].Shape))
                    throw new InvalidDataException($"{path}: optimizer state for '{name}' has the wrong shape");
                using (var dm = Slice(_m, i)) dm.copy_(m);
                using (var dv = Slice(_v, i)) dv.copy_(v);
            }
            Step = step;
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    public void Dispose()
    {
        foreach (var t in new[] { _grads, _m, _v, _decay }) t.Dispose();
        // _params backs the model's parameters; the model owns their lifetime.
    }
}
