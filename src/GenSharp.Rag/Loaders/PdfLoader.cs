using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;

namespace GenSharp.Rag.Loaders;

/// <summary>
/// .pdf (and .pdf.gz, as Debian ships documentation) with PdfPig: the text of each page in content order, cut into
/// paragraphs at blank lines, each section carrying its page number (1-based) so answers can cite the page. The title is
/// the document information's, when set. A file PdfPig cannot read — corrupt, encrypted — is refused with its reason.
/// </summary>
public sealed class PdfLoader : IDocumentLoader
{
    public string Name => "pdf";

    public bool Handles(string path) =>
        path.EndsWith(".pdf", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pdf.gz", StringComparison.OrdinalIgnoreCase);

    public LoadedDocument Load(string path, byte[] content)
    {
        var bytes = Gzip.IsGzip(content) ? Gzip.Expand(content) : content;
        if (bytes.AsSpan(0, Math.Min(bytes.Length, 1024)).IndexOf("%PDF-"u8) < 0) throw new InvalidDataException("not a PDF (no %PDF- header)");
        try
        {
            using var pdf = PdfDocument.Open(bytes);
            var sections = new List<DocumentSection>();
            long offset = 0;
            foreach (var page in pdf.GetPages())
            {
                var text = ContentOrderTextExtractor.GetText(page);
                foreach (var p in PlainTextLoader.Paragraphs(text, [], offset))
                    sections.Add(p with { Page = page.Number });
                offset += text.Length + 1;
            }
            var title = pdf.Information.Title is { Length: > 0 } t ? t.Trim() : null;
            return new LoadedDocument(title, sections);
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            throw new InvalidDataException($"not a readable PDF ({e.GetType().Name}: {e.Message})");
        }
    }
}
