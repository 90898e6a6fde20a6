using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GenSharp.Server.Api.OpenAi;
using Microsoft.AspNetCore.Connections;

namespace GenSharp.Server.Api;

/// <summary>
/// Kestrel answers requests its HTTP parser rejects (a NUL in the path, no Host header, a malformed request line) itself,
/// before any middleware, with an empty body — and offers no hook for it. This connection middleware gives those answers
/// OpenAI's error body too: it recognises Kestrel's own rejection (a 4xx with <c>Content-Length: 0</c> and
/// <c>Connection: close</c>, which the endpoints never send) in the bytes of one flush and adds the JSON.
/// </summary>
static partial class ParserErrorBodies
{
    public static ConnectionDelegate Use(ConnectionDelegate next) => async connection =>
    {
        var transport = connection.Transport;
        connection.Transport = new DuplexPipe(transport.Input, new RewritingWriter(transport.Output));
        try { await next(connection); }
        finally { connection.Transport = transport; }
    };

    [GeneratedRegex(@"^HTTP/1\.1 (4\d\d) ([^\r\n]*)\r\n((?:[^\r\n]+\r\n)*)\r\n$")]
    private static partial Regex Rejection();

    // The same response with an error body, or null when these bytes are not one of Kestrel's bare rejections.
    static byte[]? Rewrite(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 1024 || !bytes.StartsWith("HTTP/1.1 4"u8)) return null;
        var m = Rejection().Match(Encoding.ASCII.GetString(bytes));
        if (!m.Success) return null;
        var headers = m.Groups[3].Value;
        if (!headers.Contains("Content-Length: 0\r\n", StringComparison.OrdinalIgnoreCase)
            || !headers.Contains("Connection: close\r\n", StringComparison.OrdinalIgnoreCase)
            || headers.Contains("Content-Type:", StringComparison.OrdinalIgnoreCase)) return null;
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(new(
            $"{m.Groups[2].Value}: the HTTP request is malformed (request line, path or headers) and was refused before it was read",
            "invalid_request_error", null, null)), OpenAiJson.Default.ErrorResponse);
        var head = $"HTTP/1.1 {m.Groups[1].Value} {m.Groups[2].Value}\r\n"
            + headers.Replace("Content-Length: 0\r\n", $"Content-Length: {body.Length}\r\nContent-Type: application/json\r\n", StringComparison.OrdinalIgnoreCase)
            + "\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }

    sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }

    // Buffers what is written between flushes, so each flush can be looked at whole before it goes out.
    sealed class RewritingWriter(PipeWriter inner) : PipeWriter
    {
        readonly ArrayBufferWriter<byte> _pending = new(4096);

        public override void Advance(int bytes) => _pending.Advance(bytes);
        public override Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override bool CanGetUnflushedBytes => true;   // System.Text.Json's streaming serializer asks
        public override long UnflushedBytes => _pending.WrittenCount + (inner.CanGetUnflushedBytes ? inner.UnflushedBytes : 0);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Forward();
            return inner.FlushAsync(cancellationToken);
        }

        public override void Complete(Exception? exception = null)
        {
            Forward();
            inner.Complete(exception);
        }

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            Forward();
            await inner.CompleteAsync(exception);
        }

        void Forward()
        {
            if (_pending.WrittenCount == 0) return;
            inner.Write(Rewrite(_pending.WrittenSpan) ?? _pending.WrittenSpan);
            _pending.ResetWrittenCount();
        }
    }
}
