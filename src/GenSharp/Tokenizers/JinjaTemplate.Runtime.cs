using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GenSharp.Tokenizers;

/// <summary>Evaluation: values, scopes, filters, tests, methods, and the step and output limits.</summary>
public sealed partial class JinjaTemplate
{
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
