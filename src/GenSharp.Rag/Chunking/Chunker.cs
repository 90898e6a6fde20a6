using System.Security.Cryptography;
using System.Text;
using GenSharp.Rag.Loaders;

namespace GenSharp.Rag.Chunking;

/// <summary>Cuts a loaded document into chunks by its structure (see <see cref="ChunkOptions"/>).</summary>
public static class Chunker
{
    public const string HeadingSeparator = " › ";

    public static List<Chunk> Split(string source, LoadedDocument document, ChunkOptions options)
    {
        options.Validate();
        var chunks = new List<Chunk>();
        var pending = new List<DocumentSection>();
        int pendingTokens = 0;
        void Emit(string heading, string text, int? page, long offset, int tokens)
        {
            var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{source}\n{heading}\n{text}")))[..24].ToLowerInvariant();
            chunks.Add(new Chunk(id, chunks.Count, heading, text, page, offset, tokens));
        }
        void FlushPending()
        {
            if (pending.Count == 0) return;
            Emit(Heading(pending[0]), string.Join("\n\n", pending.Select(s => s.Text)), pending[0].Page, pending[0].Offset, pendingTokens);
            pending.Clear();
            pendingTokens = 0;
        }
        foreach (var section in document.Sections)
        {
            int tokens = Words(section.Text).Length;
            bool sameGroup = pending.Count > 0 && Heading(pending[0]) == Heading(section) && pending[0].Page == section.Page;
            if (!sameGroup || pendingTokens + tokens > options.MaxTokens) FlushPending();
            if (tokens <= options.MaxTokens)
            {
                pending.Add(section);
                pendingTokens += tokens;
                continue;
            }
            foreach (var (text, count) in Pieces(section.Text, options))
                Emit(Heading(section), text, section.Page, section.Offset, count);
        }
        FlushPending();
        return chunks;
    }

    static string Heading(DocumentSection s) => string.Join(HeadingSeparator, s.Headings);

    static string[] Words(string text) => text.Split((char[])[' ', '\n', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);

    // A long section: windows of at most MaxTokens words that end at a sentence end when one lies in the window's last
    // third, each starting OverlapTokens words before the previous window's end.
    static IEnumerable<(string Text, int Tokens)> Pieces(string text, ChunkOptions options)
    {
        var words = Words(text);
        int start = 0;
        while (start < words.Length)
        {
            int end = Math.Min(words.Length, start + options.MaxTokens);
            if (end < words.Length)
                for (int i = end; i > start + options.MaxTokens * 2 / 3; i--)
                    if (words[i - 1].EndsWith('.') || words[i - 1].EndsWith('?') || words[i - 1].EndsWith('!')) { end = i; break; }
            yield return (string.Join(' ', words[start..end]), end - start);
            if (end == words.Length) break;
            start = end - options.OverlapTokens;
        }
    }
}
