using System.CommandLine;
using System.Globalization;
using System.Text;
using GenSharp.Sampling;

namespace GenSharp.Cli.Commands;

/// <summary>The sampling controls shared by <c>generate</c> and <c>chat</c>, and their translation to <see cref="GenerationOptions"/>.</summary>
sealed class SamplingFlags
{
    readonly Option<int> _maxTokens;
    readonly Option<double> _temperature = Cli.Opt("--temperature", "Sampling temperature; 0 = greedy", 0.8);
    readonly Option<int> _topK = Cli.Opt("--top-k", "Sample only from the k most likely tokens; 0 = off", 0);
    readonly Option<double> _topP = Cli.Opt("--top-p", "Nucleus sampling: the smallest set of tokens with probability ≥ p; 1 = off", 1.0);
    readonly Option<double> _minP = Cli.Opt("--min-p", "Drop tokens less likely than min-p × the most likely one; 0 = off", 0.0);
    readonly Option<double> _typicalP = Cli.Opt("--typical-p", "Locally typical sampling mass; 1 = off", 1.0);
    readonly Option<double> _repetition = Cli.Opt("--repetition-penalty", "Penalise tokens already in prompt or output (CTRL); 1 = off", 1.0);
    readonly Option<double> _presence = Cli.Opt("--presence-penalty", "Subtract from tokens already generated, in [-2, 2]", 0.0);
    readonly Option<double> _frequency = Cli.Opt("--frequency-penalty", "Subtract per earlier occurrence in the output, in [-2, 2]", 0.0);
    readonly Option<string[]> _stop = new("--stop") { Description = "Stop before this text (repeatable; escapes like \\n allowed)" };
    readonly Option<string[]> _bias = new("--logit-bias") { Description = "TOKEN_ID=BIAS added to a token's logit (repeatable), bias in [-100, 100]" };
    readonly Option<long?> _seed = Cli.Opt<long?>("--seed", "Random seed for reproducible output");
    public Option<long?> Seed => _seed;

    public SamplingFlags(int defaultMaxTokens) => _maxTokens = Cli.Opt("--max-tokens", "Tokens to generate", defaultMaxTokens);

    public IEnumerable<Option> All => [_maxTokens, _temperature, _topK, _topP, _minP, _typicalP, _repetition, _presence, _frequency, _stop, _bias, _seed];

    /// <summary>
    /// The options the flags give; a control not given on the command line comes from the model's generation_config.json
    /// (<paramref name="modelDir"/>) when it sets one, else from the flag's default.
    /// </summary>
    public GenerationOptions Read(ParseResult r, string? modelDir = null)
    {
        var defaults = modelDir is null || !Directory.Exists(modelDir) ? GenerationDefaults.None : GenerationDefaults.Load(modelDir);
        var flags = new Dictionary<string, Option>
        {
            [nameof(GenerationOptions.MaxTokens)] = _maxTokens, [nameof(GenerationOptions.Temperature)] = _temperature, [nameof(GenerationOptions.TopK)] = _topK,
            [nameof(GenerationOptions.TopP)] = _topP, [nameof(GenerationOptions.MinP)] = _minP, [nameof(GenerationOptions.TypicalP)] = _typicalP,
            [nameof(GenerationOptions.RepetitionPenalty)] = _repetition,
        };
        return defaults.ApplyTo(ReadFlags(r), name => r.GetResult(flags[name]) is { Implicit: false });
    }

    GenerationOptions ReadFlags(ParseResult r) => new()
    {
        MaxTokens = r.GetValue(_maxTokens), Temperature = r.GetValue(_temperature), TopK = r.GetValue(_topK),
        TopP = r.GetValue(_topP), MinP = r.GetValue(_minP), TypicalP = r.GetValue(_typicalP),
        RepetitionPenalty = r.GetValue(_repetition), PresencePenalty = r.GetValue(_presence), FrequencyPenalty = r.GetValue(_frequency),
        Stop = r.GetValue(_stop) is { Length: > 0 } stops ? stops.Select(Unescape).ToArray() : null,
        LogitBias = r.GetValue(_bias) is { Length: > 0 } bias ? bias.Select(ParsePair).GroupBy(p => p.Id).ToDictionary(g => g.Key, g => g.Last().Bias) : null,
        Seed = r.GetValue(_seed),
    };

    static (int Id, float Bias) ParsePair(string s)
    {
        var parts = s.Split('=');
        if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out int id)
            && float.TryParse(parts[1], CultureInfo.InvariantCulture, out float bias)) return (id, bias);
        throw new UserError($"--logit-bias '{s}' is not TOKEN_ID=BIAS (e.g. 42=-100)");
    }

    /// <summary>\n, \t, \\ in stop strings, so a blank line can be given on the command line.</summary>
    public static string Unescape(string s) => s.Replace("\\n", "\n").Replace("\\t", "\t").Replace("\\\\", "\\");

    /// <summary>.NET turns invalid UTF-8 in arguments into U+FFFD; refuse it rather than prompt with garbage.</summary>
    public static string CheckText(string text, string what) =>
        text.Contains('\uFFFD') ? throw new UserError($"{what} is not valid UTF-8 (it contains a byte sequence that does not decode)") : text;

    /// <summary>Reads a UTF-8 file strictly: invalid bytes are an error naming the file and offset.</summary>
    public static string ReadUtf8(string path)
    {
        var bytes = File.ReadAllBytes(path);
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException e) { throw new UserError($"{path}: not valid UTF-8 (bad byte at offset {e.Index})"); }
    }
}
