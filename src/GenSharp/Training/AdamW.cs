using GenSharp.IO;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019) with decoupled weight decay and two parameter groups: matrices
/// and embeddings decay, norms and biases do not. Our own so that its state saves to safetensors
/// and a resumed run continues bit-identically.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly (string Name, Parameter Param, bool Decay)[] _params;
    readonly Tensor[] _m, _v;   // first and second moment estimates
    readonly double _beta1, _beta2, _eps, _weightDecay;

    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
    {
        _params = parameters.Select(p => (p.Name, p.Param, p.Param.dim() >= 2)).ToArray();
        _m = _params.Select(p => zeros_like(p.Param).requires_grad_(false)).ToArray();
        _v = _params.Select(p => zeros_like(p.Param).requires_grad_(false)).ToArray();
        (_beta1, _beta2, _eps, _weightDecay) = (beta1, beta2, eps, weightDecay);
    }

    /// <summary>Number of steps taken (the bias-correction counter).</summary>
    public long Step { get; private set; }

    public int DecayedTensorCount => _params.Count(p => p.Decay);

    public void ZeroGrad()
    {
        foreach (var p in _params) p.Param.grad?.zero_();
    }

    public void StepWith(double lr)
    {
        Step++;
        double bc1 = 1 - Math.Pow(_beta1, Step), bc2 = 1 - Math.Pow(_beta2, Step);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        for (int i = 0; i < _params.Length; i++)
        {
            var (_, p, decay) = _params[i];
            var g = p.grad;
            if (g is null) continue;
            if (decay && _weightDecay > 0) p.mul_(1 - lr * _weightDecay);          // decoupled decay (Alg. 2, line 12)
            _m[i].mul_(_beta1).add_(g, alpha: 1 - _beta1);                         // m_t
            _v[i].mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);                  // v_t
            var denom = (_v[i].sqrt() / Math.Sqrt(bc2)).add_(_eps);
            p.addcdiv_(_m[i], denom, value: -lr / bc1);                              // θ_t
        }
    }

    public void Save(string path) =>
        SafeTensors.Save(path, _params.SelectMany((p, i) => new[] { ($"exp_avg.{p.Name}", _m[i]), ($"exp_avg_sq.{p.Name}", _v[i]) })
            .ToDictionary(kv => kv.Item1, kv => kv.Item2), new Dictionary<string, string> { ["step"] = Step.ToString() });

    public void Load(string path)
    {
        var tensors = SafeTensors.Load(path, out var meta);
        try
        {
            if (!meta.TryGetValue("step", out var s) || !long.TryParse(s, out var step))
                throw new InvalidDataException($"{path}: optimizer state has no step count");
            for (int i = 0; i < _params.Length; i++)
            {
                var name = _params[i].Name;
                if (!tensors.TryGetValue($"exp_avg.{name}", out var m) || !tensors.TryGetValue($"exp_avg_sq.{name}", out var v))
                    throw new InvalidDataException($"{path}: optimizer state lacks parameter '{name}'");
                if (!m.shape.SequenceEqual(_m[i].shape)) throw new InvalidDataException($"{path}: optimizer state for '{name}' has the wrong shape");
                _m[i].copy_(m);
                _v[i].copy_(v);
            }
            Step = step;
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    public void Dispose()
    {
        foreach (var t in _m.Concat(_v)) t.Dispose();
    }
}
