using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace GenSharp.Rag.Loaders;

/// <summary>
/// .html/.htm with AngleSharp (an HTML5 parser, so real-world markup parses as browsers parse it): scripts, styles and
/// other non-text elements are dropped; h1–h6 set the heading path; each innermost block — paragraph, list item,
/// preformatted text, quote, table cell, definition — is a section, its whitespace collapsed (pre kept verbatim). The
/// title is the &lt;title&gt;, else the first h1.
/// </summary>
public sealed class HtmlLoader : IDocumentLoader
{
    const string Blocks = "p,li,pre,blockquote,td,th,dd,dt,figcaption,caption";
    const string Headings = "h1,h2,h3,h4,h5,h6";

    public string Name => "html";

    public bool Handles(string path) => Path.GetExtension(path).ToLowerInvariant() is ".html" or ".htm" or ".xhtml";

    public LoadedDocument Load(string path, byte[] content)
    {
        var (text, _) = TextDecoding.Decode(content);
        var document = new HtmlParser(new HtmlParserOptions { IsKeepingSourceReferences = true }).ParseDocument(text);
        foreach (var junk in document.QuerySelectorAll("script,style,noscript,template,svg,canvas,iframe,object,head > *:not(title)").ToList()) junk.Remove();
        var headings = new List<(int Level, string Text)>();
        var sections = new List<DocumentSection>();
        var body = document.Body ?? (IElement?)document.DocumentElement;
        if (body is null) return new LoadedDocument(null, []);
        foreach (var element in body.QuerySelectorAll($"{Headings},{Blocks}"))
        {
            if (element.LocalName is ['h', >= '1' and <= '6'])
            {
                int level = element.LocalName[1] - '0';
                headings.RemoveAll(h => h.Level >= level);
                headings.Add((level, Collapse(element.TextContent)));
                continue;
            }
            if (element.QuerySelector(Blocks) is not null || element.Closest("pre") is { } pre && pre != element) continue;   // innermost blocks only
            var words = element.LocalName == "pre" ? element.TextContent.Trim('\n') : Collapse(element.TextContent);
            if (words.Length > 0)
                sections.Add(new DocumentSection([.. headings.Select(h => h.Text)], words, null, element.SourceReference?.Position.Index ?? 0));
        }
        var title = Collapse(document.Title ?? "") is { Length: > 0 } t ? t
            : document.QuerySelector("h1") is { } h1 ? Collapse(h1.TextContent) : null;
        return new LoadedDocument(title, sections);
    }

    static string Collapse(string s) => string.Join(' ', s.Split((char[])[' ', '\n', '\t', '\r', '\u00A0'], StringSplitOptions.RemoveEmptyEntries));
}
