using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GenSharp.Server.Endpoints;

/// <summary>The web playground at <c>/</c>: three static files embedded in this assembly, served with a strict CSP.</summary>
static class PlaygroundEndpoints
{
    static readonly (string Path, string Resource, string Type)[] Files =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "app.css", "text/css; charset=utf-8"),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, type) in Files)
        {
            var bytes = Read(resource);
            app.MapGet(path, (HttpContext ctx) =>
            {
                var h = ctx.Response.Headers;
                // Scripts and styles only from this server, images also as data: URLs; no framing, no sniffing.
                h.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
                h.XContentTypeOptions = "nosniff";
                h["Referrer-Policy"] = "no-referrer";
                h.CacheControl = "no-cache";
                return Results.Bytes(bytes, type);
            });
        }
    }

    static byte[] Read(string name)
    {
        using var s = typeof(PlaygroundEndpoints).Assembly.GetManifestResourceStream("playground/" + name)
            ?? throw new InvalidOperationException($"playground file {name} is not embedded");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}
