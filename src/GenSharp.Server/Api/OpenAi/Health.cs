namespace GenSharp.Server.Api.OpenAi;

/// <summary><c>GET /health</c>: each model's running and queued requests and its capacity.</summary>
public sealed record Health(string Status, Health.ModelLoad[] Models)
{
    public sealed record ModelLoad(string Name, string Type, int Running, int Queued, int Capacity);
}
