using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GenSharp.Tokenizers;

/// <summary>The template's tree and the parsers of statements and expressions.</summary>
public sealed partial class JinjaTemplate
{
    // ---- the tree ----

    abstract record Node(int Line);
    sealed record TextNode(string Text, int Line) : Node(Line);
    sealed record OutputNode(Expr Value, int Line) : Node(Line);
    sealed record IfNode(List<(Expr Test, List<Node> Body)> Branches, List<Node> Else, int Line) : Node(Line);
    sealed record ForNode(string[] Targets, Expr Source, Expr? Filter, List<Node> Body, List<Node> Else, int Line) : Node(Line);
    sealed record SetNode(string Name, string? Attribute, Expr Value, int Line) : Node(Line);

    abstract record Expr;
    sealed record Literal(object? Value) : Expr;
    sealed record Name(string Id) : Expr;
    sealed record ListExpr(List<Expr> Items) : Expr;
    sealed record DictExpr(List<(Expr Key, Expr Value)> Items) : Expr;
    sealed record Attr(Expr Target, string Id) : Expr;
    sealed record Index(Expr Target, Expr Key) : Expr;
    sealed record Slice(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr;
    sealed record Call(Expr Callee, List<Expr> Args, List<(string Name, Expr Value)> Named) : Expr;
    sealed record Filter(Expr Value, string Id, List<Expr> Args) : Expr;
    sealed record Test(Expr Value, string Id, bool Negated, List<Expr> Args) : Expr;
    sealed record Unary(string Op, Expr Value) : Expr;
    sealed record Binary(string Op, Expr Left, Expr Right) : Expr;
    sealed record Conditional(Expr Test, Expr Then, Expr? Else) : Expr;

    // ---- parsing ----

    sealed class Parser(List<Segment> segments)
    {
        int _at;

        public List<Node> Block(string[] ends, int opened = 0)
        {
            var nodes = new List<Node>();
            while (_at < segments.Count)
            {
                var s = segments[_at];
                if (s.Kind == SegmentKind.Text) { nodes.Add(new TextNode(s.Text, s.Line)); _at++; continue; }
                if (s.Kind == SegmentKind.Output) { nodes.Add(new OutputNode(Expression(s.Text, s.Line), s.Line)); _at++; continue; }
                var word = s.Text.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
                if (ends.Contains(word)) return nodes;
                _at++;
                var rest = s.Text[word.Length..].Trim();
                switch (word)
                {
                    case "if":
                    {
                        var branches = new List<(Expr, List<Node>)> { (Expression(rest, s.Line), Block(["elif", "else", "endif"], s.Line)) };
                        var elseBody = new List<Node>();
                        while (true)
                        {
                            var end = Take(s, "endif");
                            var endWord = end.Text.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0];
                            if (endWord == "endif") break;
                            if (endWord == "elif") branches.Add((Expression(end.Text[4..].Trim(), end.Line), Block(["elif", "else", "endif"], s.Line)));
                            else { elseBody = Block(["endif"], s.Line); Take(s, "endif"); break; }
                        }
                        nodes.Add(new IfNode(branches, elseBody, s.Line));
                        break;
                    }
                    case "for":
                    {
                        int inAt = IndexOfWord(rest, "in");
                        if (inAt < 0) throw Error(s.Line, $"'for' without 'in': {s.Text}");
                        var targets = rest[..inAt].Split(',').Select(t => t.Trim()).ToArray();
                        if (targets.Any(t => !IsName(t))) throw Error(s.Line, $"bad loop variable in: {s.Text}");
                        var sourceText = rest[(inAt + 2)..];
                        Expr? filter = null;
                        int ifAt = IndexOfWord(sourceText, "if");
                        if (ifAt >= 0) { filter = Expression(sourceText[(ifAt + 2)..], s.Line); sourceText = sourceText[..ifAt]; }
                        var body = Block(["else", "endfor"], s.Line);
                        var elseBody = new List<Node>();
                        if (Take(s, "endfor").Text.StartsWith("else")) { elseBody = Block(["endfor"], s.Line); Take(s, "endfor"); }
                        nodes.Add(new ForNode(targets, Expression(sourceText, s.Line), filter, body, elseBody, s.Line));
                        break;
                    }
                    case "set":
                    {
                        int eq = rest.IndexOf('=');
                        if (eq < 0) throw Error(s.Line, "block 'set' (without =) is not supported");
                        var target = rest[..eq].Trim();
                        var parts = target.Split('.');
                        if (parts.Length > 2 || parts.Any(p => !IsName(p))) throw Error(s.Line, $"cannot assign to '{target}'");
                        nodes.Add(new SetNode(parts[0], parts.Length == 2 ? parts[1] : null, Expression(rest[(eq + 1)..], s.Line), s.Line));
                        break;
                    }
                    default: throw Error(s.Line, $"unknown or unexpected tag '{word}' (supported: if, elif, else, for, set)");
                }
            }
            if (ends.Length > 0) throw new FormatException($"line {opened}: this block is never closed: the template ends before {{% {ends[^1]} %}}");
            return nodes;
        }

        Segment Take(Segment opener, string end)
        {
            if (_at >= segments.Count) throw Error(opener.Line, $"'{opener.Text.Split(' ')[0]}' has no {{% {end} %}}");
            return segments[_at++];
        }

        static int IndexOfWord(string s, string word)
        {
            var tokens = new ExprLexer(s, 0).All();
            var t = tokens.FirstOrDefault(t => t.Kind == 'n' && t.Text == word && t.Depth == 0);
            return t is null ? -1 : t.Pos;
        }
    }

    static bool IsName(string s) => s.Length > 0 && (char.IsLetter(s[0]) || s[0] == '_') && s.All(c => char.IsLetterOrDigit(c) || c == '_');

    static FormatException Error(int line, string message) => new($"line {line}: {message}");

    sealed record Tok(char Kind, string Text, int Pos, int Depth);   // Kind: n name, s string, d number, o operator, e end

    sealed class ExprLexer(string src, int line)
    {
        static readonly string[] Ops = ["//", "==", "!=", "<=", ">=", "**", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "="];

        public List<Tok> All()
        {
            var tokens = new List<Tok>();
            int i = 0, depth = 0;
            while (true)
            {
                while (i < src.Length && char.IsWhiteSpace(src[i])) i++;
                if (i >= src.Length) { tokens.Add(new Tok('e', "", i, depth)); return tokens; }
                char c = src[i];
                if (char.IsLetter(c) || c == '_')
                {
                    int s = i;
                    while (i < src.Length && (char.IsLetterOrDigit(src[i]) || src[i] == '_')) i++;
                    tokens.Add(new Tok('n', src[s..i], s, depth));
                }
                else if (char.IsDigit(c))
                {
                    int s = i;
                    while (i < src.Length && (char.IsDigit(src[i]) || src[i] == '.' && i + 1 < src.Length && char.IsDigit(src[i + 1]))) i++;
                    tokens.Add(new Tok('d', src[s..i], s, depth));
                }
                else if (c is '\'' or '"')
                {
                    var sb = new StringBuilder();
                    int s = i++;
                    while (i < src.Length && src[i] != c)
                    {
                        if (src[i] == '\\' && i + 1 < src.Length)
                        {
                            i++;
                            sb.Append(src[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var o => o });
                        }
                        else sb.Append(src[i]);
                        i++;
                    }
                    if (i >= src.Length) throw Error(line, "a string is never closed");
                    i++;
                    tokens.Add(new Tok('s', sb.ToString(), s, depth));
                }
                else
                {
                    var op = Ops.FirstOrDefault(o => string.CompareOrdinal(src, i, o, 0, o.Length) == 0) ?? throw Error(line, $"unexpected character '{c}'");
                    if (op is "(" or "[" or "{") depth++;
                    if (op is ")" or "]" or "}") depth--;
                    tokens.Add(new Tok('o', op, i, depth));
                    i += op.Length;
                }
            }
        }
    }

    static Expr Expression(string src, int line)
    {
        var p = new ExprParser(new ExprLexer(src, line).All(), line);
        var e = p.Conditional();
        p.Expect('e', "");
        return e;
    }

    sealed class ExprParser(List<Tok> t, int line)
    {
        int _i;
        Tok Peek => t[_i];
        bool Is(string text) => Peek.Kind is 'o' or 'n' && Peek.Text == text;
        bool Accept(string text) { if (!Is(text)) return false; _i++; return true; }

        public void Expect(char kind, string text)
        {
            if (Peek.Kind != kind || (text.Length > 0 && Peek.Text != text))
                throw Error(line, $"expected {(kind == 'e' ? "the end of the expression" : $"'{text}'")} but found '{Peek.Text}'");
            _i++;
        }

        public Expr Conditional()
        {
            var e = Or();
            if (!Accept("if")) return e;
            var test = Or();
            return new Conditional(test, e, Accept("else") ? Conditional() : null);
        }

        Expr Or() { var e = And(); while (Accept("or")) e = new Binary("or", e, And()); return e; }
        Expr And() { var e = Not(); while (Accept("and")) e = new Binary("and", e, Not()); return e; }
        Expr Not() => Accept("not") ? new Unary("not", Not()) : Compare();

        Expr Compare()
        {
            var e = Concat();
            while (true)
            {
                if (Peek.Kind == 'o' && Peek.Text is "==" or "!=" or "<" or ">" or "<=" or ">=") { var op = t[_i++].Text; e = new Binary(op, e, Concat()); }
                else if (Accept("in")) e = new Binary("in", e, Concat());
                else if (Is("not") && t[_i + 1].Text == "in") { _i += 2; e = new Unary("not", new Binary("in", e, Concat())); }
                else if (Accept("is"))
                {
                    bool negated = Accept("not");
                    var id = t[_i++].Text;
                    var args = new List<Expr>();
                    if (Accept("(")) args = Args(out _);
                    else if (Peek.Kind is 's' or 'd') args.Add(Primary());
                    e = new Test(e, id, negated, args);
                }
                else return e;
            }
        }

        Expr Concat() { var e = Add(); while (Accept("~")) e = new Binary("~", e, Add()); return e; }
        Expr Add() { var e = Mul(); while (Peek.Kind == 'o' && Peek.Text is "+" or "-") { var op = t[_i++].Text; e = new Binary(op, e, Mul()); } return e; }
        Expr Mul() { var e = Unary(); while (Peek.Kind == 'o' && Peek.Text is "*" or "/" or "//" or "%") { var op = t[_i++].Text; e = new Binary(op, e, Unary()); } return e; }
        Expr Unary() => Accept("-") ? new Unary("-", Unary()) : Filtered();

        Expr Filtered()
        {
            var e = Postfix(Primary());
            while (Accept("|"))
            {
                var id = t[_i++].Text;
                var args = Accept("(") ? Args(out _) : [];
                e = new Filter(e, id, args);
            }
            return e;
        }

        Expr Postfix(Expr e)
        {
            while (true)
            {
                if (Accept(".")) e = new Attr(e, t[_i++].Text);
                else if (Accept("["))
                {
                    Expr? a = Is(":") ? null : Conditional();
                    if (Accept(":"))
                    {
                        Expr? b = Is(":") || Is("]") ? null : Conditional();
                        Expr? c = Accept(":") && !Is("]") ? Conditional() : null;
                        Expect('o', "]");
                        e = new Slice(e, a, b, c);
                    }
                    else { Expect('o', "]"); e = new Index(e, a!); }
                }
                else if (Accept("(")) { var args = Args(out var named); e = new Call(e, args, named); }
                else return e;
            }
        }

        List<Expr> Args(out List<(string, Expr)> named)
        {
            var args = new List<Expr>();
            named = [];
            while (!Accept(")"))
            {
                if (Peek.Kind == 'n' && t[_i + 1].Text == "=") { var n = t[_i].Text; _i += 2; named.Add((n, Conditional())); }
                else args.Add(Conditional());
                if (!Is(")")) Expect('o', ",");
            }
            return args;
        }

        Expr Primary()
        {
            var tok = t[_i++];
            switch (tok.Kind)
            {
                case 's':
                    var s = tok.Text;
                    while (Peek.Kind == 's') s += t[_i++].Text;   // adjacent literals concatenate
                    return new Literal(s);
                case 'd': return new Literal(tok.Text.Contains('.') ? (object)double.Parse(tok.Text, CultureInfo.InvariantCulture) : long.Parse(tok.Text, CultureInfo.InvariantCulture));
                case 'n':
                    return tok.Text switch
                    {
                        "true" or "True" => new Literal(true), "false" or "False" => new Literal(false), "none" or "None" => new Literal(null),
                        _ => new Name(tok.Text),
                    };
                case 'o' when tok.Text == "(":
                    var inner = Conditional();
                    Expect('o', ")");
                    return inner;
                case 'o' when tok.Text == "[":
                    var items = new List<Expr>();
                    while (!Accept("]")) { items.Add(Conditional()); if (!Is("]")) Expect('o', ","); }
                    return new ListExpr(items);
                case 'o' when tok.Text == "{":
                    var pairs = new List<(Expr, Expr)>();
                    while (!Accept("}")) { var k = Conditional(); Expect('o', ":"); pairs.Add((k, Conditional())); if (!Is("}")) Expect('o', ","); }
                    return new DictExpr(pairs);
                default: throw Error(line, $"unexpected '{tok.Text}'");
            }
        }
    }
}
