using static TorchSharp.torch;

namespace GenSharp.Schedulers;

/// <summary>
/// A reverse-process sampler: the timesteps it visits, and one update x_t → x_{t_prev} given the model's
/// noise prediction. Samplers are plain classes, one algorithm per file, and own no model.
/// </summary>
public interface IDiffusionScheduler
{
    /// <summary>Timesteps to visit, from most to least noisy.</summary>
    IReadOnlyList<int> Timesteps { get; }

    /// <summary>x_{t_prev} from x_t and ε̂ = ε_θ(x_t, t). <paramref name="generator"/> supplies fresh noise where the algorithm needs it.</summary>
    Tensor Step(Tensor xt, Tensor epsilon, int index, Generator? generator);
}
