namespace GenSharp.Server.Api.OpenAi;

/// <summary>The answer to <c>POST /v1/images/generations</c>: PNGs as base64.</summary>
public sealed record ImageList(long Created, ImageList.Image[] Data)
{
    public sealed record Image(string B64Json, string RevisedPrompt);
}
