namespace GenSharp.Sampling;

/// <summary>
/// Everything that controls one generation request. Defaults change nothing (temperature 1, no filters,
/// no penalties), as in transformers and the OpenAI API. Processors run in the order listed here.
/// </summary>
public sealed record GenerationOptions
{
    public int MaxTokens { get; init; } = 256;                 // new tokens per sample (finish reason "length")
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }  // token id → added to its logit, [-100, 100]
    public IReadOnlyList<int>? BannedTokens { get; init; }     // never generated
    public double RepetitionPenalty { get; init; } = 1.0;      // CTRL: seen logits l>0 → l/r, l<0 → l·r (prompt and output)
    public double PresencePenalty { get; init; } = 0.0;        // OpenAI: l −= p if the token was generated, [-2, 2]
    public double FrequencyPenalty { get; init; } = 0.0;       // OpenAI: l −= f·count in the output, [-2, 2]
    public double Temperature { get; init; } = 1.0;            // 0 = greedy (argmax after bias and penalties)
    public int TopK { get; init; } = 0;                        // keep the k most likely; 0 = off
    public double TopP { get; init; } = 1.0;                   // nucleus: smallest set with mass ≥ p; 1 = off
    public double TypicalP { get; init; } = 1.0;               // locally typical sampling (Meister et al. 2023); 1 = off
    public double MinP { get; init; } = 0.0;                   // keep p ≥ min_p · p_max; 0 = off
    public IReadOnlyList<string>? Stop { get; init; }          // stop sequences, matched on text, never emitted
    public bool IgnoreEos { get; init; }                       // keep going past the end-of-sequence token
    public long? Seed { get; init; }                           // null = nondeterministic
    public int N { get; init; } = 1;                           // samples per prompt
    public int Beams { get; init; } = 1;                       // > 1: beam search (deterministic; N best beams returned)
    public double LengthPenalty { get; init; } = 1.0;          // beam score = sum log p / length^α
    public bool Logprobs { get; init; }                        // return log p of each chosen token
    public int TopLogprobs { get; init; } = 0;                 // and that many most likely alternatives, 0…20

    public const int MaxN = 64, MaxBeams = 16, MaxTopLogprobs = 20, MaxStopSequences = 16, MaxMaxTokens = 1 << 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting; checks token ids against <paramref name="vocabSize"/> when given.</summary>
    public GenerationOptions Validate(int? vocabSize = null)
    {
        static void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        static bool Finite(double x) => double.IsFinite(x);
        Require(MaxTokens is >= 1 and <= MaxMaxTokens, $"max tokens must be in 1…{MaxMaxTokens} (got {MaxTokens})");
        Require(Finite(Temperature) && Temperature >= 0, $"temperature must be a finite number ≥ 0 (got {Temperature})");
        Require(TopK >= 0, $"top-k must be ≥ 0 (got {TopK})");
        Require(Finite(TopP) && TopP > 0 && TopP <= 1, $"top-p must be in (0, 1] (got {TopP})");
        Require(Finite(TypicalP) && TypicalP > 0 && TypicalP <= 1, $"typical-p must be in (0, 1] (got {TypicalP})");
        Require(Finite(MinP) && MinP >= 0 && MinP <= 1, $"min-p must be in [0, 1] (got {MinP})");
        Require(Finite(RepetitionPenalty) && RepetitionPenalty > 0, $"repetition penalty must be a finite number > 0 (got {RepetitionPenalty})");
        Require(Finite(PresencePenalty) && Math.Abs(PresencePenalty) <= 2, $"presence penalty must be in [-2, 2] (got {PresencePenalty})");
        Require(Finite(FrequencyPenalty) && Math.Abs(FrequencyPenalty) <= 2, $"frequency penalty must be in [-2, 2] (got {FrequencyPenalty})");
        Require(N is >= 1 and <= MaxN, $"n must be in 1…{MaxN} (got {N})");
        Require(Beams is >= 1 and <= MaxBeams, $"beams must be in 1…{MaxBeams} (got {Beams})");
        Require(Beams == 1 || N <= Beams, $"n ({N}) cannot exceed the number of beams ({Beams})");
        Require(Finite(LengthPenalty), $"length penalty must be finite (got {LengthPenalty})");
        Require(TopLogprobs is >= 0 and <= MaxTopLogprobs, $"top logprobs must be in 0…{MaxTopLogprobs} (got {TopLogprobs})");
        if (Stop is { } stop)
        {
            Require(stop.Count <= MaxStopSequences, $"at most {MaxStopSequences} stop sequences (got {stop.Count})");
            Require(stop.All(s => !string.IsNullOrEmpty(s)), "a stop sequence is empty");
        }
        foreach (var (id, bias) in LogitBias ?? new Dictionary<int, float>())
        {
            Require(float.IsFinite(bias) && Math.Abs(bias) <= 100, $"logit bias for token {id} must be in [-100, 100] (got {bias})");
            Require(id >= 0 && (vocabSize is null || id < vocabSize), $"logit bias names token {id}, outside the vocabulary (0…{vocabSize - 1})");
        }
        foreach (var id in BannedTokens ?? [])
            Require(id >= 0 && (vocabSize is null || id < vocabSize), $"banned token {id} is outside the vocabulary (0…{vocabSize - 1})");
        return this;
    }
}
