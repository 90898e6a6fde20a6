using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GenSharp.Tokenizers;

/// <summary>
/// The Jinja subset Hugging Face chat templates are written in (tokenizer_config.json's <c>chat_template</c>), rendered
/// as transformers' apply_chat_template does (trim_blocks and lstrip_blocks on). Sandboxed by construction: values are
/// only strings, numbers, booleans, none, lists and dictionaries — no objects, reflection or IO — and rendering stops with
/// an error after <see cref="MaxSteps"/> evaluation steps or <see cref="MaxOutput"/> characters, so an endless loop or a
/// huge output cannot hang or exhaust a server. Statements: if/elif/else, for (loop.index0/index/first/last/length,
/// for-else), set (names and namespace attributes). Expressions: literals, lists, dicts, attribute and subscript access,
/// slices, + - * / // % ~, comparisons, in / not in, and / or / not, inline if, filters (trim, upper, lower, length,
/// default, tojson, string, first, last, join, capitalize, title, int, items, list, reverse), tests (defined, undefined,
/// none, string, number, mapping, iterable, sequence, true, false, boolean, odd, even), string methods (strip, lstrip,
/// rstrip, startswith, endswith, split, upper, lower, title, replace), dict methods (items, keys, values, get), and the
/// functions raise_exception, namespace and range.
/// </summary>
public sealed partial class JinjaTemplate
{
    public const int MaxSteps = 1_000_000, MaxOutput = 1 << 22, MaxDepth = 200;
    readonly List<Node> _body;

    JinjaTemplate(List<Node> body) => _body = body;

    /// <summary>Parses a template; a syntax error names the problem and where.</summary>
    public static JinjaTemplate Parse(string source) => new(new Parser(Lex(source)).Block([]));

    /// <summary>Renders with the given variables (strings, numbers, bools, null, lists, dictionaries).</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        var run = new Run();
        foreach (var (k, v) in variables) run.Globals[k] = v;
        run.Exec(_body);
        return run.Output.ToString();
    }

    // ---- lexing: text, {{ }}, {% %}, {# #}, with - trimming, trim_blocks and lstrip_blocks ----

    enum SegmentKind { Text, Output, Statement }
    sealed record Segment(SegmentKind Kind, string Text, int Line);

    static List<Segment> Lex(string src)
    {
        var segments = new List<Segment>();
        int i = 0, line = 1;
        bool trimNext = false, blockJustClosed = false;
        while (i < src.Length)
        {
            int open = src.IndexOf('{', i);
            while (open >= 0 && open + 1 < src.Length && src[open + 1] is not ('{' or '%' or '#')) open = src.IndexOf('{', open + 1);
            if (open < 0 || open + 1 >= src.Length) open = src.Length;
            var text = src[i..open];
            if (blockJustClosed && text.StartsWith('\n')) text = text[1..];              // trim_blocks
            else if (blockJustClosed && text.StartsWith("\r\n")) text = text[2..];
            if (trimNext) text = text.TrimStart();
            trimNext = blockJustClosed = false;
            if (open == src.Length) { Add(text); break; }
            char kind = src[open + 1];
            bool minus = open + 2 < src.Length && src[open + 2] == '-';
            if (minus) text = text.TrimEnd();
            else if (kind is '%' or '#')                                                   // lstrip_blocks
            {
                int nl = text.LastIndexOf('\n');
                if (text[(nl + 1)..].All(c => c is ' ' or '\t')) text = text[..(nl + 1)];
            }
            Add(text);
            string close = kind switch { '{' => "}}", '%' => "%}", _ => "#}" };
            int start = open + 2 + (minus ? 1 : 0);
            int end = src.IndexOf(close, start, StringComparison.Ordinal);
            if (end < 0) throw new FormatException($"line {line}: '{{{kind}' is never closed");
            var inner = src[start..end];
            if (inner.EndsWith('-')) { trimNext = true; inner = inner[..^1]; }
            if (kind == '{') segments.Add(new Segment(SegmentKind.Output, inner, line));
            else
            {
                if (kind == '%') segments.Add(new Segment(SegmentKind.Statement, inner.Trim(), line));
                blockJustClosed = true;
            }
            line += src.AsSpan(open, end + 2 - open).Count('\n');
            i = end + 2;
        }
        return segments;

        void Add(string text)
        {
            if (text.Length > 0) segments.Add(new Segment(SegmentKind.Text, text, line));
            line += text.Count(c => c == '\n');
        }
    }
}
