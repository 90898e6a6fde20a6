using System.Text.Json;
using GenSharp.Server.Api.OpenAi;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server.Api;

public static class ApiError
{
    public static async Task Write(HttpContext ctx, int status, string message, string type, string? param = null, string? code = null)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(JsonSerializer.Serialize(new ErrorResponse(new(message, type, param, code)), OpenAi.OpenAiJson.Default.ErrorResponse));
    }

    public static Task Write(HttpContext ctx, ApiException e) => Write(ctx, e.Status, e.Message, e.Type, e.Param, e.Code);
}
