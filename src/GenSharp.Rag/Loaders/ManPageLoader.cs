using System.Text;
using System.Text.RegularExpressions;

namespace GenSharp.Rag.Loaders;

/// <summary>
/// Man pages as Debian ships them (troff, usually gzipped: /usr/share/man/man1/ls.1.gz). The man(7) macros set the
/// structure — .SH and .SS are headings, .PP/.LP/.P/.TP/.IP start paragraphs, font macros (.B, .BR, …) are text — and
/// the mdoc(7) equivalents (.Sh, .Ss, .Pp, .Nm, .Nd) are read too. Escapes become their characters or vanish. The title
/// is the NAME line ("ls - list directory contents"). Decompression stops at 16 MiB: a gzip bomb is refused, not expanded.
/// <paramref name="skipSections"/> names sections (by their .SH heading) to leave out of the text.
/// </summary>
public sealed partial class ManPageLoader(IEnumerable<string>? skipSections = null) : IDocumentLoader
{
    readonly HashSet<string> _skip = new(skipSections ?? [], StringComparer.OrdinalIgnoreCase);

    public const long MaxExpandedBytes = 16 << 20;

    public string Name => "man page";

    /// <summary>name.SECTION or name.SECTION.gz, SECTION a digit with an optional suffix (ls.1, openssl.1ssl.gz, perl.1p.gz).</summary>
    public bool Handles(string path) => ManName().IsMatch(Path.GetFileName(path));

    [GeneratedRegex(@"^.+\.[0-9][a-z0-9]*(\.gz)?$", RegexOptions.IgnoreCase)]
    private static partial Regex ManName();

    public LoadedDocument Load(string path, byte[] content)
    {
        var bytes = Gzip.IsGzip(content) ? Gzip.Expand(content, MaxExpandedBytes) : content;
        var (troff, _) = TextDecoding.Decode(bytes);
        var page = Parse(troff);
        // Sections left out of the index (the retrieval benchmark drops NAME, whose line is its query); the title stays.
        return _skip.Count == 0 ? page : page with { Sections = [.. page.Sections.Where(s => s.Headings.Count == 0 || !_skip.Contains(s.Headings[0]))] };
    }

    /// <summary>troff source to sections under .SH/.SS headings; the NAME section's text is the title.</summary>
    public static LoadedDocument Parse(string troff)
    {
        var sections = new List<DocumentSection>();
        string? section = null, subsection = null, title = null;
        var paragraph = new StringBuilder();
        long offset = 0, paragraphStart = 0;
        bool noFill = false;
        void Flush()
        {
            var text = paragraph.ToString().Trim();
            paragraph.Clear();
            if (text.Length == 0) return;
            IReadOnlyList<string> headings = section is null ? [] : subsection is null ? [section] : [section, subsection];
            if (section is "NAME" && title is null) title = text;
            sections.Add(new DocumentSection(headings, text, null, paragraphStart));
        }
        void Text(string line)
        {
            if (paragraph.Length == 0) paragraphStart = offset;
            else paragraph.Append(noFill ? '\n' : ' ');
            paragraph.Append(line);
        }
        foreach (var raw in troff.Replace("\r\n", "\n").Split('\n'))
        {
            var line = raw;
            if (line.StartsWith('.') || line.StartsWith('\''))
            {
                var (macro, args) = Macro(line);
                switch (macro)
                {
                    case "\\\"" or "\\\\\"": break;                                              // comment
                    case "SH" or "Sh":
                        Flush(); section = Unescape(args).Trim().Trim('"').ToUpperInvariant(); subsection = null; break;
                    case "SS" or "Ss":
                        Flush(); subsection = Unescape(args).Trim().Trim('"'); break;
                    case "PP" or "LP" or "P" or "Pp" or "TP" or "IP" or "HP" or "sp" or "Bl" or "El" or "It" or "Dl" or "Bd":
                        Flush();
                        if (macro is "IP" && args.Length > 0) Text(Unescape(FirstArgument(args)));
                        if (macro is "It" && args.Length > 0) Text(Unescape(args));
                        break;
                    case "nf" or "EX": Flush(); noFill = true; break;
                    case "fi" or "EE": Flush(); noFill = false; break;
                    case "B" or "I" or "SM" or "SB" or "BR" or "RB" or "IR" or "RI" or "BI" or "IB" or "Nm" or "Nd" or "Ar" or "Fl" or "Cm" or "Op" or "Pa" or "Xr" or "Em" or "Sy" or "Dq" or "Ql" or "Li":
                        var words = Unescape(Alternating(macro, args)).Trim();
                        if (macro is "Nd") words = "- " + words;
                        if (macro is "Fl") words = "-" + words;
                        if (words.Length > 0) Text(words);
                        break;
                    case "br": if (noFill) Text(""); break;
                    default: break;                                                              // layout and definitions
                }
            }
            else if (line.Length > 0) Text(Unescape(line));
            else if (!noFill) Flush();
            offset += raw.Length + 1;
        }
        Flush();
        return new LoadedDocument(title, sections);
    }

    static (string Macro, string Args) Macro(string line)
    {
        var body = line[1..].TrimStart();
        if (body.StartsWith("\\\"")) return ("\\\"", "");
        int space = body.IndexOfAny([' ', '\t']);
        return space < 0 ? (body, "") : (body[..space], body[(space + 1)..].Trim());
    }

    static string FirstArgument(string args) =>
        args.StartsWith('"') && args.IndexOf('"', 1) is > 0 and var end ? args[1..end] : args.Split(' ', 2)[0];

    // .BR a b c → "ab c"? troff joins alternating-font arguments without spaces: ".BR ls (1)" is "ls(1)".
    static string Alternating(string macro, string args)
    {
        var parts = Arguments(args);
        return macro.Length == 2 && macro.ToUpperInvariant() is "BR" or "RB" or "IR" or "RI" or "BI" or "IB" ? string.Concat(parts) : string.Join(' ', parts);
    }

    static List<string> Arguments(string args)
    {
        var parts = new List<string>();
        for (int i = 0; i < args.Length;)
        {
            if (args[i] == ' ') { i++; continue; }
            if (args[i] == '"')
            {
                int end = args.IndexOf('"', i + 1);
                if (end < 0) end = args.Length;
                parts.Add(args[(i + 1)..end]);
                i = end + 1;
            }
            else
            {
                int end = args.IndexOf(' ', i);
                if (end < 0) end = args.Length;
                parts.Add(args[i..end]);
                i = end;
            }
        }
        return parts;
    }

    /// <summary>troff escapes: fonts and sizes vanish, named characters become theirs, \- is a hyphen, \e a backslash.</summary>
    public static string Unescape(string s) => Escape().Replace(s, m => m.Value switch
    {
        @"\-" => "-",
        @"\e" or @"\\" => "\\",
        @"\&" or @"\c" or @"\:" or @"\%" or @"\/" or @"\," or @"\^" or @"\|" => "",
        @"\ " or @"\~" or @"\0" => " ",
        @"\(em" or @"\[em]" => "—",
        @"\(en" or @"\[en]" => "–",
        @"\(aq" or @"\[aq]" or @"\(cq" or @"\(oq" => "'",
        @"\(lq" or @"\(rq" or @"\(dq" or @"\[lq]" or @"\[rq]" => "\"",
        @"\(bu" or @"\[bu]" => "•",
        @"\(co" or @"\[co]" => "©",
        @"\(ga" => "`",
        @"\(ti" or @"\[ti]" => "~",
        @"\(ha" or @"\[ha]" => "^",
        _ => "",
    });

    [GeneratedRegex(@"\\(f(\[[^\]]*\]|\(..|.)|s[-+]?(\d|\(\d\d|\[\d+\])|\*(\[[^\]]*\]|\(..|.)|n(\[[^\]]*\]|\(..|.)|\((..)|\[[^\]]*\]|.)")]
    private static partial Regex Escape();
}
