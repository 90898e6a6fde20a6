using System.Text;
using GenSharp.Rag.Chunking;
using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Rag.Loaders;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace GenSharp.Tests.Rag;

/// <summary>HTML (AngleSharp) and PDF (PdfPig): made here with known text, and Debian's own documentation.</summary>
public sealed class DocumentFormatTests : TempDirectoryTest
{
    [Fact]
    public void HtmlKeepsHeadingsAndBlocksAndDropsScriptsAndStyles()
    {
        var html = """
            <!doctype html><html><head><title>The  Guide</title><style>p { color: red }</style><script>var secret = 1;</script></head>
            <body><h1>Guide</h1><p>First <b>para</b>
            graph.</p><div><h2>Setup</h2><ul><li>one <p>nested</p></li><li>two</li></ul><pre>  code
              kept</pre></div><h2>Other</h2><table><tr><td>cell</td></tr></table><noscript>no</noscript></body></html>
            """;
        var doc = new HtmlLoader().Load("g.html", Encoding.UTF8.GetBytes(html));
        Assert.Equal("The Guide", doc.Title);
        Assert.Equal(
            [("Guide", "First para graph."), ("Guide › Setup", "nested"), ("Guide › Setup", "two"), ("Guide › Setup", "  code\n  kept"), ("Guide › Other", "cell")],
            doc.Sections.Select(s => (string.Join(Chunker.HeadingSeparator, s.Headings), s.Text)));
        Assert.DoesNotContain(doc.Sections, s => s.Text.Contains("secret") || s.Text.Contains("color"));

        const string real = "/usr/share/doc/base-passwd/users-and-groups.html";
        Assert.True(File.Exists(real), $"{real} is missing (base-passwd's documentation)");
        var page = new HtmlLoader().Load(real, File.ReadAllBytes(real));
        Assert.Contains(page.Sections, s => s.Text.Contains("root"));
        Assert.True(page.Sections.Count > 20, $"{page.Sections.Count} sections");
    }

    [Fact]
    public void PdfTextComesWithItsPageAndBadPdfsAreRefused()
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4).AddText("The first page talks about apples.", 12, new UglyToad.PdfPig.Core.PdfPoint(50, 700), font);
        builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4).AddText("The second page talks about pears.", 12, new UglyToad.PdfPig.Core.PdfPoint(50, 700), font);
        var bytes = builder.Build();
        var doc = new PdfLoader().Load("fruit.pdf", bytes);
        Assert.Equal([(1, "The first page talks about apples."), (2, "The second page talks about pears.")], doc.Sections.Select(s => (s.Page!.Value, s.Text)));

        var loader = new PdfLoader();
        Assert.Contains("no %PDF- header", Assert.Throws<InvalidDataException>(() => loader.Load("x.pdf", Encoding.ASCII.GetBytes("hello"))).Message);
        Assert.Contains("not a readable PDF", Assert.Throws<InvalidDataException>(() => loader.Load("x.pdf", [.. bytes.Take(bytes.Length / 3)])).Message);

        // Debian's own PDF documentation, gzipped or not, through the ingest: pages end up on the chunks.
        var dir = Path.Combine(_dir, "docs");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "fruit.pdf"), bytes);
        File.Copy("/usr/share/doc/libtasn1-doc/libtasn1.pdf", Path.Combine(dir, "libtasn1.pdf"));
        File.WriteAllBytes(Path.Combine(dir, "broken.pdf"), [.. bytes.Take(100)]);
        using var index = RagIndex.Open(Path.Combine(_dir, "index"));
        var summary = Ingestor.Ingest(index, [dir], new IngestOptions());
        Assert.Equal(2, summary.Added);
        Assert.StartsWith("pdf: not a readable PDF", summary.Skipped.Single().Reason);
        Assert.Equal(2, index.Search("pears").Single().Page);
        Assert.Contains(index.Search("asn1_create_element", 3), h => h.Source.EndsWith("libtasn1.pdf") && h.Page > 1);
    }
}
