using System.Net;
using GenSharp.Feedback;
using GenSharp.Server.Api;
using GenSharp.Server.Endpoints;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenSharp.Server;

/// <summary>The OpenAI-compatible HTTP server: declares the middleware and the endpoint groups (one file each in Endpoints/).</summary>
public static class GenSharpServer
{
    /// <summary>Builds the server over loaded models; the caller starts it and disposes the registry after it stops.</summary>
    public static WebApplication Build(ServerOptions options, ModelRegistry models, FeedbackStore feedback)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.AddServerHeader = false;
            if (options.Host == "localhost") k.ListenLocalhost(options.Port);
            else if (IPAddress.TryParse(options.Host, out var ip)) k.Listen(ip, options.Port);
            else throw new ArgumentException($"--host must be an IP address or localhost (got '{options.Host}')");
        });
        builder.Services.AddSingleton(models);
        builder.Services.AddSingleton(feedback);
        var app = builder.Build();
        app.Use(Errors);
        app.Use(new Security(options).Invoke);
        ModelsEndpoints.Map(app);
        ChatEndpoints.Map(app);
        CompletionsEndpoints.Map(app);
        EmbeddingsEndpoints.Map(app);
        ImagesEndpoints.Map(app);
        FeedbackEndpoints.Map(app);
        PlaygroundEndpoints.Map(app);
        app.MapFallback(NotFound);
        return app;
    }

    static readonly string[] PostOnly = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/images/generations", "/feedback"];

    // Unknown routes are a JSON 404; a known route with the wrong method is a 405 that says which method to use.
    static Task NotFound(HttpContext ctx)
    {
        if (PostOnly.Contains(ctx.Request.Path.Value?.TrimEnd('/'), StringComparer.Ordinal))
        {
            ctx.Response.Headers.Allow = "POST";
            return ApiError.Write(ctx, 405, $"{ctx.Request.Path} takes POST, not {ctx.Request.Method}", "invalid_request_error");
        }
        return ApiError.Write(ctx, 404, $"no endpoint {ctx.Request.Method} {ctx.Request.Path}", "invalid_request_error");
    }

    /// <summary>The address the server listens on once started (the real port when 0 was asked).</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    // Refused requests become OpenAI error bodies; a client that went away gets nothing; anything else is a logged 500.
    static async Task Errors(HttpContext ctx, Func<Task> next)
    {
        try { await next(); }
        catch (ApiException e) { await ApiError.Write(ctx, e); }
        catch (ServerBusyException e)
        {
            ctx.Response.Headers.RetryAfter = "1";
            await ApiError.Write(ctx, 429, e.Message, "rate_limit_error", code: "server_busy");
        }
        catch (ArgumentException e) { await ApiError.Write(ctx, 400, e.Message, "invalid_request_error"); }   // the library's validation
        catch (BadHttpRequestException e) { await ApiError.Write(ctx, e.StatusCode, e.Message, "invalid_request_error"); }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { }
        catch (Exception e)
        {
            ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("GenSharp.Server").LogError(e, "request failed");
            await ApiError.Write(ctx, 500, "internal error: " + e.Message, "server_error");
        }
    }
}
