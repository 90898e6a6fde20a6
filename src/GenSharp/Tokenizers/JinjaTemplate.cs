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
public sealed class JinjaTemplate
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
        Expr Unary() => Peek.Kind == 'o' && Peek.Text == "-" ? (++_i > 0 ? new Unary("-", Unary()) : null!) : Filtered();

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

    // ---- evaluation ----

    sealed class Undefined { public static readonly Undefined Value = new(); }
    sealed class Namespace : Dictionary<string, object?> { }
    delegate object? Function(List<object?> args, Dictionary<string, object?> named);

    sealed class Run
    {
        public readonly StringBuilder Output = new();
        public readonly Dictionary<string, object?> Globals = new()
        {
            ["raise_exception"] = (Function)((a, _) => throw new ArgumentException($"the chat template refused the messages: {Str(a.FirstOrDefault())}")),
            ["namespace"] = (Function)((_, named) => { var ns = new Namespace(); foreach (var (k, v) in named) ns[k] = v; return ns; }),
            ["range"] = (Function)((a, _) =>
            {
                long start = a.Count > 1 ? ToLong(a[0]) : 0, stop = ToLong(a.Count > 1 ? a[1] : a[0]), step = a.Count > 2 ? ToLong(a[2]) : 1;
                if (step == 0 || Math.Abs((stop - start) / step) > MaxSteps) throw new InvalidOperationException("range() is too long or has step 0");
                var list = new List<object?>();
                for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
                return list;
            }),
        };
        readonly List<Dictionary<string, object?>> _scopes = [];
        long _steps;
        int _depth;

        void Step()
        {
            if (++_steps > MaxSteps) throw new InvalidOperationException($"the chat template ran more than {MaxSteps:N0} steps (an endless loop?)");
        }

        public void Exec(List<Node> nodes)
        {
            foreach (var node in nodes)
            {
                Step();
                switch (node)
                {
                    case TextNode t: Write(t.Text); break;
                    case OutputNode o: Write(Str(Eval(o.Value))); break;
                    case IfNode f:
                        var taken = f.Branches.FirstOrDefault(b => Truthy(Eval(b.Test)));
                        Exec(taken.Body ?? f.Else);
                        break;
                    case SetNode s:
                        var value = Eval(s.Value);
                        if (s.Attribute is null) (_scopes.Count > 0 ? _scopes[^1] : Globals)[s.Name] = value;
                        else if (Lookup(s.Name) is Namespace ns) ns[s.Attribute] = value;
                        else throw new InvalidOperationException($"line {s.Line}: '{s.Name}' is not a namespace");
                        break;
                    case ForNode loop: ExecFor(loop); break;
                }
            }
        }

        void ExecFor(ForNode loop)
        {
            var items = Iterate(Eval(loop.Source)).ToList();
            var scope = new Dictionary<string, object?>();
            _scopes.Add(scope);
            try
            {
                if (loop.Filter is not null)
                    items = [.. items.Where(item => { Bind(loop, scope, item); return Truthy(Eval(loop.Filter)); })];
                for (int i = 0; i < items.Count; i++)
                {
                    Step();   // every iteration counts, even of an empty body
                    Bind(loop, scope, items[i]);
                    scope["loop"] = new Dictionary<string, object?>
                    {
                        ["index0"] = (long)i, ["index"] = (long)i + 1, ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                        ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                        ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Value,
                    };
                    Exec(loop.Body);
                }
                if (items.Count == 0) Exec(loop.Else);
            }
            finally { _scopes.RemoveAt(_scopes.Count - 1); }
        }

        static void Bind(ForNode loop, Dictionary<string, object?> scope, object? item)
        {
            if (loop.Targets.Length == 1) { scope[loop.Targets[0]] = item; return; }
            var parts = Iterate(item).ToList();
            if (parts.Count != loop.Targets.Length) throw new InvalidOperationException($"line {loop.Line}: cannot unpack {parts.Count} values into {loop.Targets.Length}");
            for (int i = 0; i < parts.Count; i++) scope[loop.Targets[i]] = parts[i];
        }

        void Write(string s)
        {
            Output.Append(s);
            if (Output.Length > MaxOutput) throw new InvalidOperationException($"the chat template wrote more than {MaxOutput:N0} characters");
        }

        object? Lookup(string name)
        {
            for (int i = _scopes.Count - 1; i >= 0; i--) if (_scopes[i].TryGetValue(name, out var v)) return v;
            return Globals.TryGetValue(name, out var g) ? g : Undefined.Value;
        }

        object? Eval(Expr e)
        {
            Step();
            if (++_depth > MaxDepth) throw new InvalidOperationException($"the chat template nests expressions deeper than {MaxDepth}");
            try { return EvalInner(e); }
            finally { _depth--; }
        }

        object? EvalInner(Expr e) => e switch
        {
            Literal l => l.Value,
            Name n => Lookup(n.Id),
            ListExpr l => l.Items.Select(Eval).ToList(),
            DictExpr d => d.Items.ToDictionary(p => Str(Eval(p.Key)), p => Eval(p.Value)),
            Attr a => Member(Eval(a.Target), a.Id),
            Index i => Item(Eval(i.Target), Eval(i.Key)),
            Slice s => SliceOf(Eval(s.Target), s.Start is null ? null : Eval(s.Start), s.Stop is null ? null : Eval(s.Stop), s.Step is null ? null : Eval(s.Step)),
            Call c => Invoke(c),
            Filter f => ApplyFilter(f.Id, Eval(f.Value), [.. f.Args.Select(Eval)]),
            Test t => ApplyTest(t.Id, Eval(t.Value), [.. t.Args.Select(Eval)]) != t.Negated,
            Unary { Op: "not" } u => !Truthy(Eval(u.Value)),
            Unary u => Arith("-", 0L, Eval(u.Value)),
            Binary { Op: "and" } b => Truthy(Eval(b.Left)) ? Eval(b.Right) : Eval(b.Left),
            Binary { Op: "or" } b => Eval(b.Left) is var l && Truthy(l) ? l : Eval(b.Right),
            Binary b => Apply(b.Op, Eval(b.Left), Eval(b.Right)),
            Conditional c => Truthy(Eval(c.Test)) ? Eval(c.Then) : c.Else is null ? Undefined.Value : Eval(c.Else),
            _ => throw new InvalidOperationException("unknown expression"),
        };

        object? Invoke(Call c)
        {
            var args = c.Args.Select(Eval).ToList();
            var named = c.Named.ToDictionary(n => n.Name, n => Eval(n.Value));
            if (c.Callee is Attr { } method && Eval(method.Target) is var target && target is not Namespace)
                return Method(target, method.Id, args);
            return Eval(c.Callee) is Function f ? f(args, named) : throw new InvalidOperationException($"'{Describe(c.Callee)}' is not a function");
        }

        static string Describe(Expr e) => e switch { Name n => n.Id, Attr a => $"{Describe(a.Target)}.{a.Id}", _ => "expression" };

        static object? Member(object? target, string id) => target switch
        {
            IDictionary<string, object?> d => d.TryGetValue(id, out var v) ? v : Undefined.Value,
            _ => Undefined.Value,
        };

        static object? Item(object? target, object? key) => (target, key) switch
        {
            (IDictionary<string, object?> d, _) => d.TryGetValue(Str(key), out var v) ? v : Undefined.Value,
            (List<object?> l, long i) => i >= -l.Count && i < l.Count ? l[(int)(i < 0 ? i + l.Count : i)] : Undefined.Value,
            (string s, long i) => i >= -s.Length && i < s.Length ? s[(int)(i < 0 ? i + s.Length : i)].ToString() : Undefined.Value,
            _ => Undefined.Value,
        };

        static object? SliceOf(object? target, object? start, object? stop, object? step)
        {
            var items = target is string s ? s.Select(c => (object?)c.ToString()).ToList() : Iterate(target).ToList();
            long n = items.Count, st = step is null ? 1 : ToLong(step);
            if (st == 0) throw new InvalidOperationException("slice step cannot be zero");
            long Clamp(object? v, long fallback) { if (v is null) return fallback; long x = ToLong(v); if (x < 0) x += n; return Math.Clamp(x, st > 0 ? 0 : -1, st > 0 ? n : n - 1); }
            long a = Clamp(start, st > 0 ? 0 : n - 1), b = Clamp(stop, st > 0 ? n : -1);
            var result = new List<object?>();
            for (long i = a; st > 0 ? i < b : i > b; i += st) result.Add(items[(int)i]);
            return target is string ? string.Concat(result.Select(Str)) : result;
        }

        static object? Method(object? target, string id, List<object?> a) => (target, id) switch
        {
            (string s, "strip") => a.Count > 0 ? s.Trim(Str(a[0]).ToCharArray()) : s.Trim(),
            (string s, "lstrip") => a.Count > 0 ? s.TrimStart(Str(a[0]).ToCharArray()) : s.TrimStart(),
            (string s, "rstrip") => a.Count > 0 ? s.TrimEnd(Str(a[0]).ToCharArray()) : s.TrimEnd(),
            (string s, "startswith") => s.StartsWith(Str(a[0]), StringComparison.Ordinal),
            (string s, "endswith") => s.EndsWith(Str(a[0]), StringComparison.Ordinal),
            (string s, "upper") => s.ToUpperInvariant(),
            (string s, "lower") => s.ToLowerInvariant(),
            (string s, "title") => Title(s),
            (string s, "replace") => s.Replace(Str(a[0]), Str(a[1]), StringComparison.Ordinal),
            (string s, "split") => (a.Count > 0 && a[0] is not null ? s.Split(Str(a[0])) : s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Select(x => (object?)x).ToList(),
            (IDictionary<string, object?> d, "items") => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
            (IDictionary<string, object?> d, "keys") => d.Keys.Select(k => (object?)k).ToList(),
            (IDictionary<string, object?> d, "values") => d.Values.ToList(),
            (IDictionary<string, object?> d, "get") => d.TryGetValue(Str(a[0]), out var v) ? v : a.Count > 1 ? a[1] : null,
            _ => throw new InvalidOperationException($"no method '{id}' on {TypeName(target)}"),
        };

        static object? ApplyFilter(string id, object? v, List<object?> a) => id switch
        {
            "trim" => Str(v).Trim(),
            "upper" => Str(v).ToUpperInvariant(),
            "lower" => Str(v).ToLowerInvariant(),
            "capitalize" => Str(v) is { Length: > 0 } s ? char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant() : "",
            "title" => Title(Str(v)),
            "string" => Str(v),
            "length" or "count" => (long)(v switch { string s => s.Length, IDictionary<string, object?> d => d.Count, _ => Iterate(v).Count() }),
            "default" or "d" => v is Undefined || (a.Count > 1 && Truthy(a[1]) && !Truthy(v)) ? a.FirstOrDefault() ?? "" : v,
            "first" => Iterate(v).FirstOrDefault(Undefined.Value),
            "last" => Iterate(v).LastOrDefault(Undefined.Value),
            "join" => string.Join(a.Count > 0 ? Str(a[0]) : "", Iterate(v).Select(Str)),
            "list" => Iterate(v).ToList(),
            "reverse" => v is string s ? new string(s.Reverse().ToArray()) : Iterate(v).Reverse().ToList(),
            "items" => v is IDictionary<string, object?> d ? d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : throw new InvalidOperationException("items needs a mapping"),
            "int" => v switch { long l => l, double x => (long)x, string s when long.TryParse(s, out var l) => l, _ => 0L },
            "tojson" => JsonSerializer.Serialize(ToJson(v), new JsonSerializerOptions { WriteIndented = a.Count > 0 && a[0] is long }),
            _ => throw new InvalidOperationException($"filter '{id}' is not supported"),
        };

        static bool ApplyTest(string id, object? v, List<object?> a) => id switch
        {
            "defined" => v is not Undefined,
            "undefined" => v is Undefined,
            "none" => v is null,
            "string" => v is string,
            "number" => v is long or double,
            "boolean" => v is bool,
            "true" => v is true,
            "false" => v is false,
            "mapping" => v is IDictionary<string, object?>,
            "iterable" => v is string or List<object?> or IDictionary<string, object?>,
            "sequence" => v is string or List<object?>,
            "odd" => ToLong(v) % 2 != 0,
            "even" => ToLong(v) % 2 == 0,
            "equalto" or "eq" => Equal(v, a[0]),
            _ => throw new InvalidOperationException($"test '{id}' is not supported"),
        };

        static object? Apply(string op, object? l, object? r) => op switch
        {
            "==" => Equal(l, r),
            "!=" => !Equal(l, r),
            "<" or ">" or "<=" or ">=" => Compare(l, r) is var c && op switch { "<" => c < 0, ">" => c > 0, "<=" => c <= 0, _ => c >= 0 },
            "in" => r switch
            {
                string s => s.Contains(Str(l), StringComparison.Ordinal),
                IDictionary<string, object?> d => d.ContainsKey(Str(l)),
                _ => Iterate(r).Any(x => Equal(x, l)),
            },
            "~" => Str(l) + Str(r),
            "+" when l is string || r is string => l is string ls && r is string rs ? ls + rs : throw new InvalidOperationException($"cannot add {TypeName(l)} and {TypeName(r)}"),
            "+" when l is List<object?> ll && r is List<object?> rl => ll.Concat(rl).ToList(),
            _ => Arith(op, l, r),
        };

        static object Arith(string op, object? l, object? r)
        {
            if (l is long a && r is long b)
            {
                if (b == 0 && op is "//" or "%" or "/") throw new InvalidOperationException("division by zero in the chat template");
                return op switch   // each arm boxed: a switch over long and double arms would make every result a double
                {
                    "+" => (object)(a + b), "-" => a - b, "*" => a * b, "//" => (long)Math.Floor((double)a / b), "%" => ((a % b) + b) % b,
                    "/" => (double)a / b, _ => throw new InvalidOperationException(op),
                };
            }
            if (l is string s && r is long n && op == "*") return n is >= 0 and <= MaxOutput ? string.Concat(Enumerable.Repeat(s, (int)n)) : throw new InvalidOperationException("string repeated too often");
            double x = ToDouble(l), y = ToDouble(r);
            return op switch { "+" => x + y, "-" => x - y, "*" => x * y, "/" => x / y, "//" => Math.Floor(x / y), "%" => x % y, _ => throw new InvalidOperationException(op) };
        }

        static bool Equal(object? l, object? r) => (l, r) switch
        {
            (long a, double b) => a == b,
            (double a, long b) => a == b,
            (Undefined, null) or (null, Undefined) => false,
            _ => Equals(l, r) || l is List<object?> a2 && r is List<object?> b2 && a2.SequenceEqual(b2),
        };

        static int Compare(object? l, object? r) => (l, r) switch
        {
            (string a, string b) => string.CompareOrdinal(a, b),
            _ => ToDouble(l).CompareTo(ToDouble(r)),
        };

        static string Title(string s) => string.Join(' ', s.Split(' ').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..].ToLowerInvariant()));
        static long ToLong(object? v) => v switch { long l => l, double d => (long)d, bool b => b ? 1 : 0, _ => throw new InvalidOperationException($"expected a number, got {TypeName(v)}") };
        static double ToDouble(object? v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => throw new InvalidOperationException($"expected a number, got {TypeName(v)}") };

        static IEnumerable<object?> Iterate(object? v) => v switch
        {
            List<object?> l => l,
            string s => s.Select(c => (object?)c.ToString()),
            IDictionary<string, object?> d => d.Keys,
            Undefined or null => [],
            _ => throw new InvalidOperationException($"cannot iterate over {TypeName(v)}"),
        };

        static object? ToJson(object? v) => v switch
        {
            Undefined => null,
            List<object?> l => l.Select(ToJson).ToList(),
            IDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => ToJson(kv.Value)),
            Function => throw new InvalidOperationException("a function cannot be written as JSON"),
            _ => v,
        };

        public static string Str(object? v) => v switch
        {
            null => "None",
            Undefined => "",
            string s => s,
            bool b => b ? "True" : "False",
            long l => l.ToString(CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture) is var s2 && !s2.Contains('.') && !s2.Contains('E') ? s2 + ".0" : d.ToString("R", CultureInfo.InvariantCulture),
            List<object?> l => "[" + string.Join(", ", l.Select(Repr)) + "]",
            IDictionary<string, object?> d => "{" + string.Join(", ", d.Select(kv => $"{Repr(kv.Key)}: {Repr(kv.Value)}")) + "}",   // as Python prints it
            _ => TypeName(v),
        };

        static string Repr(object? v) => v is string s ? $"'{s}'" : Str(v);

        static bool Truthy(object? v) => v switch
        {
            null or Undefined => false,
            bool b => b,
            long l => l != 0,
            double d => d != 0,
            string s => s.Length > 0,
            List<object?> l => l.Count > 0,
            IDictionary<string, object?> d => d.Count > 0,
            _ => true,
        };

        static string TypeName(object? v) => v switch
        {
            null => "none", Undefined => "undefined", string => "a string", long or double => "a number", bool => "a bool",
            List<object?> => "a list", IDictionary<string, object?> => "a mapping", _ => "a function",
        };
    }
}
