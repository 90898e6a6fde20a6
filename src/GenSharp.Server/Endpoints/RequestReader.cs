using System.Globalization;
using System.Text.Json;
using GenSharp.Sampling;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Tokenizers;

namespace GenSharp.Server.Endpoints;

/// <summary>
/// Reads request bodies into the typed OpenAI request records. Every field is checked for its type and for the bounds
/// that do not depend on the model (vLLM's), and a refusal is a 400 naming the field; the model's own limits (context,
/// vocabulary, slots) are checked when the request is turned into generation options.
/// </summary>
static class RequestReader
{
    public const int MaxStop = 4, MaxPrompts = 16, MaxLogitBias = 300;   // OpenAI's limits
    public const int MaxRejectPatterns = 16, MaxBlocklist = 1000;         // GenSharp's filters

    public static ChatCompletionRequest Chat(JsonRequest req)
    {
        var r = new ChatCompletionRequest
        {
            Messages = Messages(req),
            Logprobs = req.Has("logprobs") ? req.Bool("logprobs") : null,
            TopLogprobs = req.Integer("top_logprobs", 0, GenerationOptions.MaxTopLogprobs),
        };
        if (r.TopLogprobs > 0 && r.Logprobs != true) throw ApiException.BadRequest("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        return Sampling(req, r);
    }

    public static CompletionRequest Completion(JsonRequest req)
    {
        var prompts = req.Strings("prompt", MaxPrompts) ?? throw ApiException.BadRequest("'prompt' is required", "prompt");
        if (prompts.Count == 0) throw ApiException.BadRequest("'prompt' must not be an empty array", "prompt");
        var r = Sampling(req, new CompletionRequest
        {
            Prompt = [.. prompts], Echo = req.Has("echo") ? req.Bool("echo") : null, Logprobs = req.Integer("logprobs", 0, 5),
            BestOf = req.Integer("best_of", 1, GenerationOptions.MaxN), RewardModel = req.OptionalString("reward_model"),
            RejectPatterns = req.Strings("reject_patterns", MaxRejectPatterns)?.ToArray(), Blocklist = req.Strings("blocklist", MaxBlocklist)?.ToArray(),
        });
        if (r.BestOf < (r.N ?? 1)) throw ApiException.BadRequest($"'best_of' ({r.BestOf}) must be at least 'n' ({r.N ?? 1})", "best_of");
        if (r.Refines && r.Stream == true)
            throw ApiException.BadRequest("'best_of', 'reward_model' and the filters choose among whole candidates: they cannot be used with 'stream'", "stream");
        return r;
    }

    internal static T Sampling<T>(JsonRequest req, T r) where T : SamplingRequest
    {
        r.Model = req.RequiredString("model");
        r.MaxTokens = req.Integer("max_tokens", 1, int.MaxValue);
        r.MaxCompletionTokens = req.Integer("max_completion_tokens", 1, int.MaxValue);
        r.Temperature = req.Number("temperature", 0, 2);
        r.TopP = req.Number("top_p", 0, 1) is { } p ? (p > 0 ? p : throw ApiException.BadRequest("'top_p' must be greater than 0 and at most 1", "top_p")) : null;
        r.TopK = req.Integer("top_k", 0, int.MaxValue);
        r.MinP = req.Number("min_p", 0, 1);
        r.RepetitionPenalty = req.Number("repetition_penalty", 0.01, 10);
        r.PresencePenalty = req.Number("presence_penalty", -2, 2);
        r.FrequencyPenalty = req.Number("frequency_penalty", -2, 2);
        r.N = req.Integer("n", 1, GenerationOptions.MaxN);
        r.Seed = req.Long("seed");
        r.Stop = req.Strings("stop", MaxStop)?.ToArray();
        if (r.Stop?.Any(s => s.Length == 0) == true) throw ApiException.BadRequest("a stop sequence is empty", "stop");
        r.LogitBias = LogitBias(req);
        r.Stream = req.Has("stream") ? req.Bool("stream") : null;
        r.StreamOptions = StreamOptions(req);
        return r;
    }

    static Dictionary<string, double>? LogitBias(JsonRequest req)
    {
        if (!req.Has("logit_bias")) return null;
        var e = req.Root.GetProperty("logit_bias");
        if (e.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'logit_bias' must be an object of token id → bias", "logit_bias");
        var bias = new Dictionary<string, double>();
        foreach (var p in e.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw ApiException.BadRequest($"logit_bias key '{p.Name}' is not a token id", "logit_bias");
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out double b) || !double.IsFinite(b) || Math.Abs(b) > 100)
                throw ApiException.BadRequest($"logit_bias for token {p.Name} must be a number in [-100, 100]", "logit_bias");
            bias[p.Name] = b;
            if (bias.Count > MaxLogitBias) throw ApiException.BadRequest($"'logit_bias' may name at most {MaxLogitBias} tokens", "logit_bias");
        }
        return bias;
    }

    static SamplingRequest.StreamingOptions? StreamOptions(JsonRequest req)
    {
        if (!req.Has("stream_options")) return null;
        var so = req.Root.GetProperty("stream_options");
        if (so.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'stream_options' must be an object", "stream_options");
        if (!so.TryGetProperty("include_usage", out var iu) || iu.ValueKind == JsonValueKind.Null) return new(null);
        return iu.ValueKind switch
        {
            JsonValueKind.True => new(true),
            JsonValueKind.False => new(false),
            _ => throw ApiException.BadRequest("'stream_options.include_usage' must be true or false", "stream_options.include_usage"),
        };
    }

    /// <summary>OpenAI messages: role system/developer/user/assistant, content a string or text parts.</summary>
    static ChatCompletionRequest.Message[] Messages(JsonRequest req)
    {
        if (!req.Has("messages")) throw ApiException.BadRequest("'messages' is required", "messages");
        var arr = req.Root.GetProperty("messages");
        if (arr.ValueKind != JsonValueKind.Array || arr.GetArrayLength() == 0)
            throw ApiException.BadRequest("'messages' must be a non-empty array", "messages");
        if (arr.GetArrayLength() > 1000) throw ApiException.BadRequest("'messages' may hold at most 1000 messages", "messages");
        var list = new List<ChatCompletionRequest.Message>();
        int i = 0;
        foreach (var m in arr.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{at}' must be an object with role and content", at);
            var role = m.TryGetProperty("role", out var r) ? JsonRequest.String(r, $"{at}.role") : throw ApiException.BadRequest($"'{at}.role' is required", $"{at}.role");
            role = role == "developer" ? "system" : role;
            if (!ChatTemplate.KnownRoles.Contains(role))
                throw ApiException.BadRequest($"'{at}.role' must be system, developer, user or assistant (got '{role}')", $"{at}.role");
            if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null)
                throw ApiException.BadRequest($"'{at}.content' is required", $"{at}.content");
            list.Add(new ChatCompletionRequest.Message(role, Content(c, $"{at}.content")));
        }
        if (list[^1].Role != "user") throw ApiException.BadRequest($"the last message must be from the user (got '{list[^1].Role}')", "messages");
        return [.. list];
    }

    static string Content(JsonElement c, string at)
    {
        if (c.ValueKind == JsonValueKind.String) return JsonRequest.String(c, at);
        if (c.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{at}' must be a string or an array of text parts", at);
        var parts = new List<string>();
        foreach (var p in c.EnumerateArray())
        {
            if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"'{at}' parts must be objects with a type", at);
            var type = JsonRequest.String(t, $"{at}.type");
            if (type != "text") throw ApiException.BadRequest($"'{at}': only text parts are supported (got '{type}')", at);
            parts.Add(p.TryGetProperty("text", out var x) ? JsonRequest.String(x, $"{at}.text") : throw ApiException.BadRequest($"'{at}' text part has no text", at));
        }
        return string.Concat(parts);
    }
}
