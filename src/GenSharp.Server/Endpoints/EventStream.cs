using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using GenSharp.Sampling;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server.Endpoints;

/// <summary>
/// One streamed response's server-sent events, serialized straight into the response's pipe (no strings, no per-event
/// buffers), and flushed once for all the events that were ready together: with many streams, or a client slower than
/// the model, a flush carries several tokens; with one stream, one. Events are <c>data: JSON\n\n</c>, ending with
/// <c>data: [DONE]</c>, as OpenAI streams.
/// </summary>
sealed class EventStream
{
    readonly HttpResponse _response;
    readonly Utf8JsonWriter _json;

    public EventStream(HttpResponse response, JsonSerializerOptions options)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        _response = response;
        _json = new Utf8JsonWriter(response.BodyWriter, new JsonWriterOptions { Encoder = options.Encoder, SkipValidation = true });
    }

    /// <summary>Queues one event (sent at the next <see cref="FlushAsync"/>).</summary>
    public void Write<T>(T payload, JsonTypeInfo<T> type)
    {
        var pipe = _response.BodyWriter;
        pipe.Write("data: "u8);
        JsonSerializer.Serialize(_json, payload, type);
        _json.Flush();   // commits the JSON to the pipe before the separator
        _json.Reset();
        pipe.Write("\n\n"u8);
    }

    public async Task FlushAsync(CancellationToken cancel) => await _response.BodyWriter.FlushAsync(cancel);

    public async Task DoneAsync(CancellationToken cancel)
    {
        _response.BodyWriter.Write("data: [DONE]\n\n"u8);
        await FlushAsync(cancel);
    }

    /// <summary>
    /// Runs <paramref name="write"/> for each of a request's generation events as they come, flushing after each run of
    /// events that were already waiting (one socket write per wake-up of this request, not per event).
    /// </summary>
    public async Task Relay(ChannelReader<GenerationEvent> events, Action<GenerationEvent> write, CancellationToken cancel)
    {
        while (await events.WaitToReadAsync(cancel))
        {
            while (events.TryRead(out var e)) write(e);
            await FlushAsync(cancel);
        }   // a failed request's error is thrown by WaitToReadAsync, as by ReadAllAsync
    }
}
