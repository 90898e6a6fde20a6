namespace GenSharp.Rag.Loaders;

/// <summary>.txt (and README-like files without an extension): paragraphs separated by blank lines, no headings.</summary>
public sealed class PlainTextLoader : IDocumentLoader
{
    public string Name => "text";

    public bool Handles(string path) => Path.GetExtension(path).Equals(".txt", StringComparison.OrdinalIgnoreCase);

    public LoadedDocument Load(string path, byte[] content)
    {
        var (text, _) = TextDecoding.Decode(content);
        return new LoadedDocument(null, Paragraphs(text, []));
    }

    /// <summary>The paragraphs of <paramref name="text"/> (blank-line separated) under <paramref name="headings"/>, with offsets.</summary>
    public static List<DocumentSection> Paragraphs(string text, IReadOnlyList<string> headings, long baseOffset = 0)
    {
        var sections = new List<DocumentSection>();
        text = text.Replace("\r\n", "\n");
        int start = 0;
        while (start < text.Length)
        {
            int end = text.IndexOf("\n\n", start, StringComparison.Ordinal);
            if (end < 0) end = text.Length;
            var paragraph = text[start..end].Trim();
            if (paragraph.Length > 0) sections.Add(new DocumentSection(headings, paragraph, null, baseOffset + start));
            start = end + 2;
        }
        return sections;
    }
}
