using GenSharp.Models;
using static GenSharp.Interop.Onnx.TensorProto.Types;
using static TorchSharp.torch;

namespace GenSharp.Interop;

/// <summary>
/// A Llama-family decoder (llama, mistral, qwen2) as an ONNX graph with past key/value inputs and present outputs, in the
/// layout ONNX Runtime GenAI and Optimum use:
/// <code>
/// inputs   input_ids (batch, seq) int64 · attention_mask (batch, total) int64 · position_ids (batch, seq) int64
///          past_key_values.{i}.key / .value (batch, kv_heads, past, head_dim) float
/// outputs  logits (batch, seq, vocab) float · present.{i}.key / .value (batch, kv_heads, total, head_dim) float
/// </code>
/// with total = past + seq. The first call passes empty pasts (past = 0); each next call passes the presents back and the
/// new tokens only. attention_mask marks real tokens (1) and padding (0) over the whole sequence, so batches may be
/// left-padded; position_ids count real tokens. Opset 17 has no RMSNorm or attention op, so both are spelled out: the
/// graph computes what <see cref="LlamaForCausalLM"/> does, in the same order. Grouped-query attention needs no copies:
/// queries are shaped (batch, kv_heads, group, seq, head_dim) and MatMul broadcasts each K/V head over its group.
/// </summary>
internal static class LlamaOnnx
{
    public static OnnxGraph Build(LlamaForCausalLM model)
    {
        var c = model.Config;
        var w = model.state_dict();
        var g = new OnnxGraph("gensharp-" + c.ModelType);
        int kv = c.NumKvHeads, group = c.NumHeads / c.NumKvHeads, d = c.HeadDim;

        var inputIds = g.Input("input_ids", DataType.Int64, "batch_size", "sequence_length");
        var attentionMask = g.Input("attention_mask", DataType.Int64, "batch_size", "total_sequence_length");
        var positionIds = g.Input("position_ids", DataType.Int64, "batch_size", "sequence_length");
        var past = Enumerable.Range(0, c.NumLayers).Select(i => (
            K: g.Input($"past_key_values.{i}.key", DataType.Float, "batch_size", kv, "past_sequence_length", d),
            V: g.Input($"past_key_values.{i}.value", DataType.Float, "batch_size", kv, "past_sequence_length", d))).ToArray();

        // Rotary tables for every position, computed as Rope.Tables does (fp64, then fp32); the first half of each row is
        // stored, since both halves are equal. cos, and sin with its first half negated: x·cos + roll(x, d/2)·sin±.
        string cos, sinSigned;
        using (var scope = NewDisposeScope())
        {
            var (cosTable, sinTable) = Rope.Tables(arange(c.MaxPositions), d, c.RopeTheta, c.RopeScaling);
            var cosHalf = g.Gather(g.Weight("rope.cos_half", cosTable.narrow(1, 0, d / 2)), positionIds);   // (B, T, d/2)
            var sinHalf = g.Gather(g.Weight("rope.sin_half", sinTable.narrow(1, 0, d / 2)), positionIds);
            cos = g.Concat(-1, cosHalf, cosHalf);                                                        // (B, T, d)
            sinSigned = g.Concat(-1, g.Neg(sinHalf), sinHalf);
        }
        var (cosQ, sinQ) = (g.Unsqueeze(cos, 1, 2), g.Unsqueeze(sinSigned, 1, 2));                   // (B, 1, 1, T, d)
        var (cosK, sinK) = (g.Unsqueeze(cos, 1), g.Unsqueeze(sinSigned, 1));                         // (B, 1, T, d)
        string Rotate(string x, string cs, string sn)
        {
            var halves = g.Split(x, -1, d / 2, d / 2);
            return g.Add(g.Mul(x, cs), g.Mul(g.Concat(-1, halves[1], halves[0]), sn));
        }

        // Which keys each query sees: key j ≤ query i's position past + i (causal) and key j is not padding.
        var total = g.Dim(attentionMask, 1);
        var pastLength = g.Sub(total, g.Dim(inputIds, 1));
        var one = g.Ints([1], scalar: true);
        var keyIndex = g.Node("Range", [g.Ints([0], scalar: true), total, one]);                          // (L)
        var queryIndex = g.Node("Range", [pastLength, total, one]);                                        // (T)
        var causal = g.Node("LessOrEqual", [g.Unsqueeze(keyIndex, 0), g.Unsqueeze(queryIndex, 1)]);          // (T, L)
        var notPadding = g.Unsqueeze(g.Cast(attentionMask, DataType.Bool), 1, 2, 3);                        // (B, 1, 1, 1, L)
        var allowed = g.Node("And", [causal, notPadding]);                                                   // (B, 1, 1, T, L)
        var masked = g.Floats([float.MinValue], scalar: true);   // finite: a row of padding gets uniform weights, not NaN
        var scale = g.Floats([(float)(1.0 / Math.Sqrt(d))], scalar: true);
        var eps = g.Floats([(float)c.RmsNormEps], scalar: true);

        string RmsNorm(string x, string name) =>
            g.Mul(g.Weight(name, w[name]), g.Mul(x, g.Reciprocal(g.Sqrt(g.Add(g.ReduceMean(g.Mul(x, x), -1), eps)))));
        Tensor? Bias(string name) => w.TryGetValue(name, out var b) ? b : null;

        var x = g.Gather(g.Weight("model.embed_tokens.weight", w["model.embed_tokens.weight"]), inputIds);   // (B, T, C)
        for (int i = 0; i < c.NumLayers; i++)
        {
            var p = $"model.layers.{i}";
            var h = RmsNorm(x, $"{p}.input_layernorm.weight");
            string Proj(string name) => g.Linear(h, $"{p}.self_attn.{name}", w[$"{p}.self_attn.{name}.weight"], Bias($"{p}.self_attn.{name}.bias"));
            var q = g.Transpose(g.Reshape(Proj("q_proj"), 0, 0, kv, group, d), 0, 2, 3, 1, 4);           // (B, kv, group, T, d)
            var k = g.Transpose(g.Reshape(Proj("k_proj"), 0, 0, kv, d), 0, 2, 1, 3);                     // (B, kv, T, d)
            var v = g.Transpose(g.Reshape(Proj("v_proj"), 0, 0, kv, d), 0, 2, 1, 3);
            q = Rotate(q, cosQ, sinQ);
            k = g.Concat(2, past[i].K, Rotate(k, cosK, sinK));                                            // (B, kv, L, d)
            v = g.Concat(2, past[i].V, v);
            g.Output(k, $"present.{i}.key", DataType.Float, "batch_size", kv, "total_sequence_length", d);
            g.Output(v, $"present.{i}.value", DataType.Float, "batch_size", kv, "total_sequence_length", d);
            var scores = g.Mul(g.MatMul(q, g.Unsqueeze(g.Transpose(k, 0, 1, 3, 2), 2)), scale);           // (B, kv, group, T, L)
            var weights = g.Softmax(g.Node("Where", [allowed, scores, masked]));
            var y = g.MatMul(weights, g.Unsqueeze(v, 2));                                                 // (B, kv, group, T, d)
            y = g.Reshape(g.Transpose(y, 0, 3, 1, 2, 4), 0, 0, c.NumHeads * d);                          // (B, T, C)
            x = g.Add(x, g.Linear(y, $"{p}.self_attn.o_proj", w[$"{p}.self_attn.o_proj.weight"]));

            h = RmsNorm(x, $"{p}.post_attention_layernorm.weight");
            var gate = g.Linear(h, $"{p}.mlp.gate_proj", w[$"{p}.mlp.gate_proj.weight"]);
            var up = g.Linear(h, $"{p}.mlp.up_proj", w[$"{p}.mlp.up_proj.weight"]);
            x = g.Add(x, g.Linear(g.Mul(g.Silu(gate), up), $"{p}.mlp.down_proj", w[$"{p}.mlp.down_proj.weight"]));
        }
        x = RmsNorm(x, "model.norm.weight");
        // Tied embeddings: the one matrix, transposed by a node (ONNX Runtime folds it at load) rather than stored twice.
        var logits = c.TieWordEmbeddings
            ? g.MatMul(x, g.Transpose("model.embed_tokens.weight", 1, 0))
            : g.Linear(x, "lm_head", w["lm_head.weight"]);
        g.Output(logits, "logits", DataType.Float, "batch_size", "sequence_length", c.VocabSize);
        return g;
    }
}
