using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server.Api;

/// <summary>
/// Checks every request before it reaches an endpoint: the Host header must name this server (DNS-rebinding
/// defence), a browser Origin must be this server's own (no CORS: other sites cannot call it), and with an API
/// key the API needs <c>Authorization: Bearer KEY</c>.
/// </summary>
sealed class Security(ServerOptions options)
{
    static readonly string[] Loopback = ["localhost", "127.0.0.1", "[::1]", "::1"];
    readonly byte[]? _key = options.ApiKey is { } k ? Encoding.UTF8.GetBytes(k) : null;
    readonly bool _anyHost = options.Host is "0.0.0.0" or "::" or "*" && options.AllowedHosts.Count == 0;

    public async Task Invoke(HttpContext ctx, Func<Task> next)
    {
        var host = ctx.Request.Host.Host;
        if (string.IsNullOrEmpty(host))
        {
            await ApiError.Write(ctx, 400, "the Host header is empty; send the server's address (e.g. Host: 127.0.0.1:8080)", "invalid_request_error");
            return;
        }
        if (!_anyHost && !Loopback.Contains(host, StringComparer.OrdinalIgnoreCase) && !host.Equals(options.Host, StringComparison.OrdinalIgnoreCase)
            && !options.AllowedHosts.Contains(host, StringComparer.OrdinalIgnoreCase))
        {
            await ApiError.Write(ctx, 400, $"Host '{host}' is not served here (start the server with --allowed-host {host} to allow it)", "invalid_request_error");
            return;
        }
        if (ctx.Request.Headers.Origin is { Count: > 0 } origin && !SameOrigin(origin.ToString(), ctx.Request))
        {
            await ApiError.Write(ctx, 403, "cross-origin requests are not allowed", "invalid_request_error");
            return;
        }
        if (_key is not null && (ctx.Request.Path.StartsWithSegments("/v1") || ctx.Request.Path.StartsWithSegments("/feedback")) && !Authorized(ctx.Request))
        {
            ctx.Response.Headers.WWWAuthenticate = "Bearer";
            await ApiError.Write(ctx, 401, "missing or incorrect API key: send Authorization: Bearer KEY", "authentication_error", code: "invalid_api_key");
            return;
        }
        await next();
    }

    static bool SameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var o) && o.Scheme == request.Scheme
        && string.Equals(o.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    bool Authorized(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;   // auth schemes are case-insensitive (RFC 9110 §11.1)
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), _key);
    }
}
