using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server.Api;

/// <summary>
/// A request body read as JSON with bounded size and depth, and typed getters whose errors name the field —
/// so malformed input is a 400 that says what is wrong, never a 500.
/// </summary>
public sealed class JsonRequest : IDisposable
{
    public const int MaxDepth = 32;
    readonly JsonDocument _doc;

    JsonRequest(JsonDocument doc) => _doc = doc;

    public JsonElement Root => _doc.RootElement;

    public static async Task<JsonRequest> ReadAsync(HttpRequest request, CancellationToken cancel)
    {
        // The media type must be application/json exactly; parameters (charset) may follow. A missing one is refused too.
        var ct = request.ContentType;
        var media = ct?.Split(';')[0].Trim();
        if (!string.Equals(media, "application/json", StringComparison.OrdinalIgnoreCase))
            throw new ApiException(415, ct is null ? "Content-Type is missing: send application/json" : $"Content-Type must be application/json (got {ct})");
        // Refuse a declared oversize body before reading it: a client that sent Expect: 100-continue then never uploads it.
        var max = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (request.ContentLength > max) throw new ApiException(413, $"the request body is {request.ContentLength} bytes; the limit is {max}");
        JsonDocument doc;
        try { doc = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = MaxDepth }, cancel); }
        catch (JsonException e) { throw ApiException.BadRequest($"the body is not valid JSON: {e.Message}"); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        { throw new ApiException(413, "the request body is too large"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw ApiException.BadRequest("the body must be a JSON object");
        }
        return new JsonRequest(doc);
    }

    public bool Has(string name) => Root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public string RequiredString(string name) =>
        Has(name) ? String(Root.GetProperty(name), name) : throw ApiException.BadRequest($"'{name}' is required", name);

    public string? OptionalString(string name) => Has(name) ? String(Root.GetProperty(name), name) : null;

    public static string String(JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"'{name}' must be a string", name);
        try { return e.GetString()!; }
        catch (InvalidOperationException)
        {
            // Either raw bytes that are not UTF-8, or a \uD800–\uDFFF escape without its pair: say which.
            string raw;
            try { raw = e.GetRawText(); }
            catch (InvalidOperationException) { throw ApiException.BadRequest($"'{name}' is not valid UTF-8", name); }
            bool surrogateEscape = System.Text.RegularExpressions.Regex.IsMatch(raw, @"\\u[dD][89a-fA-F][0-9a-fA-F]{2}");
            throw ApiException.BadRequest(surrogateEscape
                ? $"'{name}' is not valid Unicode (an unpaired surrogate escape)"
                : $"'{name}' is not valid UTF-8", name);
        }
    }

    /// <summary>A finite number in [min, max] (bounds inclusive unless stated by the message).</summary>
    public double? Number(string name, double min, double max)
    {
        if (!Has(name)) return null;
        var e = Root.GetProperty(name);
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v))
            throw ApiException.BadRequest($"'{name}' must be a number", name);
        if (v < min || v > max) throw ApiException.BadRequest($"'{name}' must be between {min} and {max} (got {v})", name);
        return v;
    }

    public int? Integer(string name, long min, long max)
    {
        if (!Has(name)) return null;
        var e = Root.GetProperty(name);
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v))
            throw ApiException.BadRequest($"'{name}' must be an integer", name);
        if (v < min || v > max) throw ApiException.BadRequest($"'{name}' must be between {min} and {max} (got {v})", name);
        return (int)v;
    }

    public long? Long(string name)
    {
        if (!Has(name)) return null;
        var e = Root.GetProperty(name);
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v) ? v : throw ApiException.BadRequest($"'{name}' must be an integer", name);
    }

    public bool Bool(string name)
    {
        if (!Has(name)) return false;
        var e = Root.GetProperty(name);
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadRequest($"'{name}' must be true or false", name),
        };
    }

    /// <summary>A string or an array of strings (OpenAI's <c>stop</c>, <c>input</c>, <c>prompt</c>).</summary>
    public IReadOnlyList<string>? Strings(string name, int maxCount)
    {
        if (!Has(name)) return null;
        var e = Root.GetProperty(name);
        if (e.ValueKind == JsonValueKind.String) return [String(e, name)];
        if (e.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{name}' must be a string or an array of strings", name);
        if (e.GetArrayLength() > maxCount) throw ApiException.BadRequest($"'{name}' may hold at most {maxCount} strings", name);
        return e.EnumerateArray().Select((x, i) => String(x, $"{name}[{i}]")).ToArray();
    }

    public void Dispose() => _doc.Dispose();
}
