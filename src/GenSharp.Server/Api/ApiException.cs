namespace GenSharp.Server.Api;

/// <summary>
/// A request the server refuses, answered as OpenAI does: the status code and
/// <c>{"error": {"message", "type", "param", "code"}}</c>.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string type = "invalid_request_error", string? code = null) : Exception(message)
{
    public int Status => status;
    public string? Param => param;
    public string Type => type;
    public string? Code => code;

    public static ApiException BadRequest(string message, string? param = null) => new(400, message, param);
    public static ApiException NotFound(string message, string? param = null) => new(404, message, param, code: param == "model" ? "model_not_found" : null);
}
