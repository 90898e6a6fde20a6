using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace GenSharp.Rag.Loaders;

/// <summary>
/// .md with Markdig: headings set the heading path (a level-2 heading replaces the previous level-2 and anything below
/// it), and each top-level block — paragraph, list, code block, quote, table — becomes a section of plain text (inline
/// markup stripped, code kept verbatim). The first level-1 heading is the title.
/// </summary>
public sealed class MarkdownLoader : IDocumentLoader
{
    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    public string Name => "markdown";

    public bool Handles(string path) => Path.GetExtension(path).ToLowerInvariant() is ".md" or ".markdown";

    public LoadedDocument Load(string path, byte[] content)
    {
        var (text, _) = TextDecoding.Decode(content);
        var document = Markdown.Parse(text, Pipeline);
        var headings = new List<(int Level, string Text)>();
        var sections = new List<DocumentSection>();
        string? title = null;
        foreach (var block in document)
        {
            if (block is HeadingBlock heading)
            {
                var name = Inline(heading.Inline).Trim();
                headings.RemoveAll(h => h.Level >= heading.Level);
                headings.Add((heading.Level, name));
                if (heading.Level == 1) title ??= name;
                continue;
            }
            var body = block switch
            {
                LeafBlock { Inline: { } inline } => Inline(inline),
                LeafBlock leaf => leaf.Lines.ToString(),                                        // code blocks, verbatim
                _ => Markdown.ToPlainText(text.Substring(block.Span.Start, block.Span.Length), Pipeline),   // lists, quotes, tables
            };
            body = body.Trim();
            if (body.Length > 0) sections.Add(new DocumentSection([.. headings.Select(h => h.Text)], body, null, block.Span.Start));
        }
        return new LoadedDocument(title, sections);
    }

    // Plain text of inline content: literals, code spans, link texts; line breaks as spaces.
    static string Inline(ContainerInline? inline)
    {
        var sb = new System.Text.StringBuilder();
        void Walk(Markdig.Syntax.Inlines.Inline? node)
        {
            for (; node is not null; node = node.NextSibling)
                switch (node)
                {
                    case LiteralInline l: sb.Append(l.Content); break;
                    case CodeInline c: sb.Append(c.Content); break;
                    case LineBreakInline: sb.Append(' '); break;
                    case AutolinkInline a: sb.Append(a.Url); break;
                    case HtmlInline: break;
                    case ContainerInline container: Walk(container.FirstChild); break;
                }
        }
        Walk(inline?.FirstChild);
        return sb.ToString();
    }
}
