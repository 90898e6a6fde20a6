namespace GenSharp.Tokenizers;

internal static class TokenizerExtensions
{
    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD.</summary>
    public static string Decode(this ITokenizer tokenizer, IEnumerable<int> ids) =>
        System.Text.Encoding.UTF8.GetString(tokenizer.DecodeBytes(ids));
}
