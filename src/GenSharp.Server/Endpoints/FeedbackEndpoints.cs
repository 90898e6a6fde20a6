using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Feedback;
using GenSharp.Server.Api;
using GenSharp.Tokenizers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GenSharp.Server.Endpoints;

/// <summary>
/// <c>POST /feedback</c>: the playground's 👍/👎 (<c>{"kind":"rating", model, messages, response, rating: 1|-1, settings}</c>)
/// and A/B picks (<c>{"kind":"comparison", model, messages, chosen, rejected, settings}</c>), stored in SQLite.
/// </summary>
static class FeedbackEndpoints
{
    const int MaxText = 100_000;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/feedback", Handle);

    static async Task Handle(HttpContext ctx, FeedbackStore store)
    {
        using var req = await JsonRequest.ReadAsync(ctx.Request, ctx.RequestAborted);
        var kind = req.RequiredString("kind");
        var model = req.RequiredString("model");
        var messages = Messages(req);
        JsonObject? settings = null;
        if (req.Has("settings"))
            settings = req.Root.GetProperty("settings") is { ValueKind: JsonValueKind.Object } s ? JsonNode.Parse(s.GetRawText())!.AsObject()
                : throw ApiException.BadRequest("'settings' must be an object", "settings");
        long id = kind switch
        {
            "rating" => store.Add(new Rating(model, messages, Text(req, "response"),
                req.Integer("rating", -1, 1) is { } v and not 0 ? v : throw ApiException.BadRequest("'rating' must be 1 (👍) or -1 (👎)", "rating"), settings)),
            "comparison" => Compare(store, model, messages, Text(req, "chosen"), Text(req, "rejected"), settings),
            _ => throw ApiException.BadRequest($"'kind' must be rating or comparison (got '{kind}')", "kind"),
        };
        await ctx.Response.WriteAsJsonAsync(new { id, @object = "feedback" });
    }

    static long Compare(FeedbackStore store, string model, List<ChatMessage> messages, string chosen, string rejected, JsonObject? settings)
    {
        try { return store.Add(new Comparison(model, messages, chosen, rejected, settings)); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message, "rejected"); }
    }

    static string Text(JsonRequest req, string name)
    {
        var t = req.RequiredString(name);
        return t.Length <= MaxText ? t : throw ApiException.BadRequest($"'{name}' is longer than {MaxText} characters", name);
    }

    static List<ChatMessage> Messages(JsonRequest req)
    {
        if (!req.Has("messages") || req.Root.GetProperty("messages") is not { ValueKind: JsonValueKind.Array } arr || arr.GetArrayLength() == 0)
            throw ApiException.BadRequest("'messages' must be a non-empty array of {role, content}", "messages");
        return arr.EnumerateArray().Select((m, i) =>
        {
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var r) || !m.TryGetProperty("content", out var c))
                throw ApiException.BadRequest($"'messages[{i}]' needs role and content", "messages");
            return new ChatMessage(JsonRequest.String(r, $"messages[{i}].role"), JsonRequest.String(c, $"messages[{i}].content"));
        }).ToList();
    }
}
