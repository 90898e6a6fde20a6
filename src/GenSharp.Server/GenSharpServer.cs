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
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenSharp.Server;

/// <summary>The OpenAI-compatible HTTP server: declares the middleware and the endpoint groups (one file each in Endpoints/).</summary>
public static class GenSharpServer
{
    /// <summary>Builds the server over loaded models (and documents to answer from, when given); the caller starts it and
    /// disposes the registry and the documents after it stops.</summary>
    public static WebApplication Build(ServerOptions options, ModelRegistry models, FeedbackStore feedback, RagService? documents = null)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.AddServerHeader = false;
            if (options.Host == "localhost") k.ListenLocalhost(options.Port, l => l.Use(ParserErrorBodies.Use));
            else if (IPAddress.TryParse(options.Host, out var ip)) k.Listen(ip, options.Port, l => l.Use(ParserErrorBodies.Use));
            else throw new ArgumentException($"--host must be an IP address or localhost (got '{options.Host}')");
        });
        builder.Services.AddSingleton(models);
        builder.Services.AddSingleton(feedback);
        if (documents is not null) builder.Services.AddSingleton(documents);
        var app = builder.Build();
        app.Use(Errors);
        app.Use(new Security(options).Invoke);
        ModelsEndpoints.Map(app);
        ChatEndpoints.Map(app);
        CompletionsEndpoints.Map(app);
        EmbeddingsEndpoints.Map(app);
        ImagesEndpoints.Map(app);
        FeedbackEndpoints.Map(app);
        RagEndpoints.Map(app);
        PlaygroundEndpoints.Map(app);
        app.MapFallback(NotFound);
        return app;
    }

    // Unknown routes are a JSON 404; a known route with the wrong method is a 405 with Allow, whatever the route
    // (read from the endpoints themselves, so a new endpoint group needs nothing here).
    static Task NotFound(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var methods = ctx.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && !raw.Contains("{*") && Matches(raw, path))
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct().Order().ToArray();
        if (methods.Length > 0)
        {
            ctx.Response.Headers.Allow = string.Join(", ", methods);
            return ApiError.Write(ctx, 405, $"{path} takes {string.Join(" or ", methods)}, not {ctx.Request.Method}", "invalid_request_error");
        }
        return ApiError.Write(ctx, 404, $"no endpoint {ctx.Request.Method} {path}", "invalid_request_error");
    }

    // A route template ("/v1/models/{id}") against a path, segment by segment; a {parameter} matches any one segment.
    static bool Matches(string template, string path)
    {
        var t = template.Trim('/').Split('/');
        var p = path.Trim('/').Split('/');
        return t.Length == p.Length && t.Zip(p).All(x => x.First.StartsWith('{') || string.Equals(x.First, x.Second, StringComparison.OrdinalIgnoreCase));
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
