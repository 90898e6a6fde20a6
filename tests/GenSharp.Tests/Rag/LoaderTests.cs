using System.IO.Compression;
using System.Text;
using GenSharp.Rag.Chunking;
using GenSharp.Rag.Loaders;

namespace GenSharp.Tests.Rag;

/// <summary>Each loader on real files: Debian's own man pages, Markdown and text in several encodings; chunking by structure.</summary>
public sealed class LoaderTests : TempDirectoryTest
{
    [Fact]
    public void DebiansManPagesReadAsHeadingsAndTextWithoutTroff()
    {
        const string ls = "/usr/share/man/man1/ls.1.gz";
        Assert.True(File.Exists(ls), $"{ls} is missing (coreutils' man page)");
        var loader = new ManPageLoader();
        Assert.True(loader.Handles(ls));
        Assert.True(loader.Handles("/usr/share/man/man1/openssl.1ssl.gz"));
        Assert.False(loader.Handles("notes.txt"));
        var page = loader.Load(ls, File.ReadAllBytes(ls));
        Assert.Equal("ls - list directory contents", page.Title);
        Assert.Contains(page.Sections, s => s.Headings.SequenceEqual(["DESCRIPTION"]) && s.Text.Contains("List information about the FILEs"));
        Assert.Contains(page.Sections, s => s.Text.Contains("--all") && s.Text.Contains("do not ignore entries starting with ."));
        Assert.All(page.Sections, s => Assert.DoesNotContain("\\f", s.Text));
        Assert.All(page.Sections, s => Assert.False(s.Text.StartsWith('.'), s.Text));

        var troff = ".TH DEMO 8\n.SH NAME\ndemo \\- show \\fBbold\\fR things\n.SH OPTIONS\n.SS Basic\n.TP\n.BR \\-v , \" \\-\\-verbose\"\nSay more.\n.\\\" a comment\n.PP\nSee\n.BR ls (1).\n";
        var parsed = ManPageLoader.Parse(troff);
        Assert.Equal("demo - show bold things", parsed.Title);
        Assert.Equal([["NAME"], ["OPTIONS", "Basic"], ["OPTIONS", "Basic"]], parsed.Sections.Select(s => s.Headings.ToArray()));
        Assert.Equal("-v, --verbose Say more.", parsed.Sections[1].Text);
        Assert.Equal("See ls(1).", parsed.Sections[2].Text);
    }

    [Fact]
    public void GzipBombsCorruptGzipAndBinaryDataAreRefusedWithTheReason()
    {
        var loader = new ManPageLoader();
        var bomb = new MemoryStream();
        using (var gz = new GZipStream(bomb, CompressionLevel.SmallestSize, leaveOpen: true))
            for (int i = 0; i < 17; i++) gz.Write(Enumerable.Repeat((byte)'a', 1 << 20).ToArray());
        Assert.True(bomb.Length < 100_000);
        Assert.Contains("a gzip bomb", Assert.Throws<InvalidDataException>(() => loader.Load("bomb.1.gz", bomb.ToArray())).Message);
        Assert.Contains("corrupt gzip data", Assert.Throws<InvalidDataException>(() => loader.Load("bad.1.gz", [0x1F, 0x8B, 8, 0, 1, 2, 3, 4, 5, 6])).Message);
        Assert.Contains("binary data (a NUL byte at offset 3)",
            Assert.Throws<InvalidDataException>(() => new PlainTextLoader().Load("x.txt", [65, 66, 67, 0, 1, 2])).Message);
    }

    [Fact]
    public void EncodingsAreDetected()
    {
        Assert.Equal(("café", "utf-8"), TextDecoding.Decode(Encoding.UTF8.GetBytes("café")));
        Assert.Equal(("café", "utf-8"), TextDecoding.Decode([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("café")]));
        Assert.Equal(("café", "utf-16le"), TextDecoding.Decode([0xFF, 0xFE, .. Encoding.Unicode.GetBytes("café")]));
        Assert.Equal(("café", "windows-1252"), TextDecoding.Decode([(byte)'c', (byte)'a', (byte)'f', 0xE9]));   // Latin-1 é, not UTF-8
    }

    [Fact]
    public void MarkdownKeepsTheHeadingPathAndCodeVerbatim()
    {
        var md = """
            # Guide
            Intro with *emphasis* and `code`.
            ## Install
            - step one
            - step two
            ```bash
            ./gensharp demo
            ```
            ## Use
            ### Details
            Text [with a link](http://x).
            """;
        var doc = new MarkdownLoader().Load("guide.md", Encoding.UTF8.GetBytes(md));
        Assert.Equal("Guide", doc.Title);
        Assert.Equal(
            [("Guide", "Intro with emphasis and code."), ("Guide › Install", "step one\nstep two"), ("Guide › Install", "./gensharp demo"),
             ("Guide › Use › Details", "Text with a link.")],
            doc.Sections.Select(s => (string.Join(Chunker.HeadingSeparator, s.Headings), s.Text.Replace("\r", ""))));
    }

    [Fact]
    public void ChunksPackSectionsWithinABudgetNeverAcrossHeadingsAndOverlapWhenSplit()
    {
        static DocumentSection S(string heading, int words, string word = "w") => new([heading], string.Join(' ', Enumerable.Range(0, words).Select(i => $"{word}{i}")));
        var doc = new LoadedDocument(null, [S("A", 4), S("A", 4), S("A", 4), S("B", 2), S("B", 25, "long")]);
        var chunks = Chunker.Split("doc.txt", doc, new ChunkOptions { MaxTokens = 10, OverlapTokens = 3 });
        Assert.Equal([("A", 8), ("A", 4), ("B", 2), ("B", 10), ("B", 10), ("B", 10), ("B", 4)], chunks.Select(c => (c.Heading, c.Tokens)));
        // Each piece of the long section starts with the last 3 words of the one before.
        var pieces = chunks.Skip(3).Select(c => c.Text.Split(' ')).ToList();
        for (int i = 1; i < pieces.Count; i++) Assert.Equal(pieces[i - 1][^3..], pieces[i][..3]);
        Assert.Equal("long0", pieces[0][0]);
        Assert.Equal("long24", pieces[^1][^1]);
        // Ids are stable: the same input gives the same ids; another source gives others.
        Assert.Equal(chunks.Select(c => c.Id), Chunker.Split("doc.txt", doc, new ChunkOptions { MaxTokens = 10, OverlapTokens = 3 }).Select(c => c.Id));
        Assert.NotEqual(chunks[0].Id, Chunker.Split("other.txt", doc, new ChunkOptions { MaxTokens = 10, OverlapTokens = 3 })[0].Id);
        Assert.Contains("under half a chunk", Assert.Throws<ArgumentException>(() => new ChunkOptions { MaxTokens = 10, OverlapTokens = 5 }.Validate()).Message);
    }
}
