namespace GenSharp.Server.Api.OpenAi;

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record ErrorResponse(ErrorResponse.Detail Error)
{
    public sealed record Detail(string Message, string Type, string? Param, string? Code);
}
