using Google.Protobuf;
using GenSharp.Interop.Onnx;
using GenSharp.IO;
using static TorchSharp.torch;

namespace GenSharp.Interop;

/// <summary>
/// Builds an ONNX model (IR 8, default domain at <see cref="Opset"/>) node by node and writes it: the nodes in the order
/// they are added (which is topological, since a node can only name values that exist), fp32/int64 initializers, and
/// inputs/outputs with symbolic dimensions. Each op method returns its output's name, so a graph reads like the forward
/// pass it mirrors. Weights larger than <see cref="ExternalThreshold"/> go to an external data file when the caller asks
/// or when they would not fit in one protobuf message (2 GiB), as ONNX's external-data convention lays it out.
/// </summary>
internal sealed class OnnxGraph
{
    public const int Opset = 17;
    const long IrVersion = 8;
    const int ExternalThreshold = 1024;                    // bytes; smaller tensors stay inline, as onnx.save does
    const long ProtobufLimit = (2L << 30) - (64L << 20);   // 2 GiB less headroom for the graph itself

    readonly GraphProto _graph;
    readonly List<(TensorProto Proto, byte[] Data)> _weights = [];
    int _next;

    public OnnxGraph(string name) => _graph = new GraphProto { Name = name };

    /// <summary>A dimension: a fixed size (long) or a symbolic name (string) that ONNX Runtime binds at run time.</summary>
    static TensorShapeProto Shape(object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                _ => new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) },
            });
        return shape;
    }

    static ValueInfoProto Value(string name, TensorProto.Types.DataType type, object[] dims) => new()
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = Shape(dims) } },
    };

    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        _graph.Input.Add(Value(name, type, dims));
        return name;
    }

    public void Output(string value, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        if (value != name) Node("Identity", [value], name);
        _graph.Output.Add(Value(name, type, dims));
    }

    /// <summary>A float32 weight (copied out of <paramref name="t"/>, which stays the caller's).</summary>
    public string Weight(string name, Tensor t)
    {
        using var f = t.detach().to_type(ScalarType.Float32).contiguous().cpu();
        var bytes = new byte[f.numel() * 4];
        f.data<float>().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan()));
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(f.shape);
        _weights.Add((proto, bytes));
        return name;
    }

    public int NodeCount => _graph.Node.Count;

    public long WeightBytes => _weights.Sum(w => (long)w.Data.Length);

    /// <summary>A constant int64 vector (shapes, axes, split sizes), or a scalar when <paramref name="scalar"/>.</summary>
    public string Ints(long[] values, bool scalar = false) =>
        Constant(TensorProto.Types.DataType.Int64, values.Length, scalar, p => p.Int64Data.AddRange(values));

    /// <summary>A constant float32 vector, or a scalar when <paramref name="scalar"/>.</summary>
    public string Floats(float[] values, bool scalar = false) =>
        Constant(TensorProto.Types.DataType.Float, values.Length, scalar, p => p.FloatData.AddRange(values));

    string Constant(TensorProto.Types.DataType type, int length, bool scalar, Action<TensorProto> fill)
    {
        var proto = new TensorProto { Name = $"const_{_next++}", DataType = (int)type };
        if (!scalar) proto.Dims.Add(length);
        fill(proto);
        _graph.Initializer.Add(proto);
        return proto.Name;
    }

    /// <summary>Adds a node; attributes are (name, value) with value a long, float, string, long[] or float[].</summary>
    public string Node(string op, string[] inputs, string? output = null, params (string Name, object Value)[] attributes) =>
        Nodes(op, inputs, 1, output is null ? null : [output], attributes)[0];

    public string[] Nodes(string op, string[] inputs, int outputs, string[]? names = null, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_next++}" };
        node.Input.AddRange(inputs);
        for (int i = 0; i < outputs; i++) node.Output.Add(names?[i] ?? $"{node.Name}_out{i}");
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        _graph.Node.Add(node);
        return [.. node.Output];
    }

    static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case long or int: a.Type = AttributeProto.Types.AttributeType.Int; a.I = Convert.ToInt64(value); break;
            case float or double: a.Type = AttributeProto.Types.AttributeType.Float; a.F = Convert.ToSingle(value); break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ints); break;
            case float[] floats: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(floats); break;
            default: throw new ArgumentException($"attribute {name}: unsupported value type {value.GetType().Name}");
        }
        return a;
    }

    // ---- the ops the exported models use (ONNX operator names; see onnx.ai/onnx/operators) ----
    public string Add(string a, string b) => Node("Add", [a, b]);
    public string Sub(string a, string b) => Node("Sub", [a, b]);
    public string Mul(string a, string b) => Node("Mul", [a, b]);
    public string Div(string a, string b) => Node("Div", [a, b]);
    public string MatMul(string a, string b) => Node("MatMul", [a, b]);
    public string Sigmoid(string x) => Node("Sigmoid", [x]);
    public string Silu(string x) => Mul(x, Sigmoid(x));
    public string Neg(string x) => Node("Neg", [x]);
    public string Sqrt(string x) => Node("Sqrt", [x]);
    public string Reciprocal(string x) => Node("Reciprocal", [x]);
    public string Softmax(string x, long axis = -1) => Node("Softmax", [x], null, ("axis", axis));
    public string Gather(string data, string indices, long axis = 0) => Node("Gather", [data, indices], null, ("axis", axis));
    public string Concat(long axis, params string[] xs) => Node("Concat", xs, null, ("axis", axis));
    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], null, ("perm", perm));
    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Ints(shape)]);
    public string Reshape(string x, string shape) => Node("Reshape", [x, shape]);
    public string Unsqueeze(string x, params long[] axes) => Node("Unsqueeze", [x, Ints(axes)]);
    public string Squeeze(string x, params long[] axes) => Node("Squeeze", [x, Ints(axes)]);
    public string ShapeOf(string x) => Node("Shape", [x]);
    public string Dim(string x, long axis) => Gather(ShapeOf(x), Ints([axis], scalar: true));   // a scalar int64
    public string ReduceMean(string x, params long[] axes) => Node("ReduceMean", [x], null, ("axes", axes), ("keepdims", 1L));
    public string Cast(string x, TensorProto.Types.DataType to) => Node("Cast", [x], null, ("to", (long)to));
    public string[] Split(string x, long axis, params long[] sizes) => Nodes("Split", [x, Ints(sizes)], sizes.Length, null, ("axis", axis));

    /// <summary>x·Wᵀ (+ b) for a torch Linear weight W (out, in): stored transposed, so the product is one MatMul.</summary>
    public string Linear(string x, string name, Tensor weight, Tensor? bias = null)
    {
        var y = MatMul(x, Weight($"{name}.MatMul.weight", weight.t()));
        return bias is null ? y : Add(y, Weight($"{name}.bias", bias));
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/>; weights go to <c>{file}.data</c> beside it when
    /// <paramref name="external"/> says so, or (null) when they would not fit in the protobuf message.
    /// Returns whether an external data file was written.
    /// </summary>
    public bool Save(string path, bool? external, IReadOnlyDictionary<string, string> metadata)
    {
        bool outside = external ?? WeightBytes > ProtobufLimit;
        if (!outside && WeightBytes > ProtobufLimit)
            throw new ArgumentException($"the weights ({WeightBytes / 1048576.0:F0} MiB) do not fit in one ONNX protobuf (2 GiB): use external data");
        var dataFile = Path.GetFileName(path) + ".data";
        var dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dataFile);
        if (outside)
            AtomicFile.Write(dataPath, s =>
            {
                foreach (var (proto, data) in _weights)
                {
                    if (data.Length < ExternalThreshold) { proto.RawData = UnsafeByteOperations.UnsafeWrap(data); continue; }
                    long offset = (s.Position + 4095) / 4096 * 4096;           // page-aligned, so runtimes can map the weights
                    s.Write(new byte[offset - s.Position]);
                    s.Write(data);
                    proto.DataLocation = TensorProto.Types.DataLocation.External;
                    proto.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataFile });
                    proto.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
                    proto.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = data.Length.ToString() });
                }
            });
        else
        {
            foreach (var (proto, data) in _weights) proto.RawData = UnsafeByteOperations.UnsafeWrap(data);
            if (File.Exists(dataPath)) File.Delete(dataPath);                  // no stale weights beside the new file
        }
        var constants = _graph.Initializer.ToList();
        _graph.Initializer.Clear();
        _graph.Initializer.AddRange(_weights.Select(w => w.Proto));              // weights first, then the small constants
        _graph.Initializer.AddRange(constants);
        var model = new ModelProto
        {
            IrVersion = IrVersion, ProducerName = "GenSharp", ProducerVersion = typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "",
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        AtomicFile.Write(path, s => model.WriteTo(s));
        return outside;
    }
}
