using GenSharp.Models;
using static GenSharp.Interop.Onnx.TensorProto.Types;
using static TorchSharp.torch;

namespace GenSharp.Interop;

/// <summary>
/// The diffusion U-Net (<see cref="UNet"/>) as an ONNX graph: <c>sample</c> (batch, channels, size, size) float,
/// <c>timestep</c> (batch) int64 and, for a class-conditional model, <c>class_labels</c> (batch) int64 (num_classes = no
/// class, for guidance) → <c>noise_pred</c> (batch, channels, size, size). The names are diffusers' (UNet2DModel's
/// sample/timestep/class_labels). Spatial sizes are the config's image size, fixed as the model was trained; the batch is
/// free. Opset 17 has no GroupNorm, so it is InstanceNormalization over (batch, groups, rest), then the per-channel affine.
/// </summary>
internal static class UNetOnnx
{
    public static OnnxGraph Build(UNet model)
    {
        var c = model.Config;
        var w = model.state_dict();
        var g = new OnnxGraph("gensharp-unet");
        int size = c.ImageSize;
        var sample = g.Input("sample", DataType.Float, "batch_size", c.InChannels, size, size);
        var timestep = g.Input("timestep", DataType.Int64, "batch_size");
        var labels = c.NumClasses > 0 ? g.Input("class_labels", DataType.Int64, "batch_size") : null;

        string W(string name) => g.Weight(name, w[name]);
        string Conv(string x, string name, long stride = 1)
        {
            long k = w[$"{name}.weight"].shape[^1];
            return g.Node("Conv", [x, W($"{name}.weight"), W($"{name}.bias")], null,
                ("kernel_shape", new[] { k, k }), ("strides", new[] { stride, stride }), ("pads", Enumerable.Repeat(k / 2, 4).ToArray()));
        }
        string Gemm(string x, string name) => g.Node("Gemm", [x, W($"{name}.weight"), W($"{name}.bias")], null, ("transB", 1L));
        string GroupNorm(string x, string name, int channels, int side)
        {
            int groups = c.Groups;
            var grouped = g.Reshape(x, 0, groups, -1);                                                   // (B, G, C/G·H·W)
            var normed = g.Node("InstanceNormalization", [grouped, g.Floats(Enumerable.Repeat(1f, groups).ToArray()),
                g.Floats(new float[groups])], null, ("epsilon", 1e-5f));
            var back = g.Reshape(normed, 0, channels, side, side);
            return g.Add(g.Mul(back, g.Weight($"{name}.weight", w[$"{name}.weight"].reshape(channels, 1, 1))),
                g.Weight($"{name}.bias", w[$"{name}.bias"].reshape(channels, 1, 1)));
        }
        string Res(string x, string emb, string name, int cin, int cout, int side)
        {
            var h = Conv(g.Silu(GroupNorm(x, $"{name}.norm1", cin, side)), $"{name}.conv1");
            h = g.Add(h, g.Unsqueeze(Gemm(g.Silu(emb), $"{name}.emb_proj"), 2, 3));                     // + (B, cout, 1, 1)
            h = Conv(g.Silu(GroupNorm(h, $"{name}.norm2", cout, side)), $"{name}.conv2");                 // dropout: identity at inference
            return g.Add(cin == cout ? x : Conv(x, $"{name}.skip"), h);
        }
        string Attention(string x, string name, int channels, int side)
        {
            int heads = Math.Max(1, channels / 32), hs = channels / heads;
            var qkv = Conv(GroupNorm(x, $"{name}.norm", channels, side), $"{name}.qkv");
            var t = g.Transpose(g.Reshape(qkv, 0, 3, heads, hs, side * side), 1, 0, 2, 4, 3);              // (3, B, nh, HW, hs)
            var parts = g.Split(t, 0, 1, 1, 1).Select(part => g.Squeeze(part, 0)).ToArray();
            var scores = g.Mul(g.MatMul(parts[0], g.Transpose(parts[1], 0, 1, 3, 2)), g.Floats([(float)(1 / Math.Sqrt(hs))], scalar: true));
            var y = g.MatMul(g.Softmax(scores), parts[2]);                                                // (B, nh, HW, hs)
            return g.Add(x, Conv(g.Reshape(g.Transpose(y, 0, 1, 3, 2), 0, channels, side, side), $"{name}.proj"));
        }

        // Timestep embedding (Vaswani et al. §3.5) with the frequencies UNet.TimestepEmbedding computes, then the MLP.
        var args = g.Mul(g.Unsqueeze(g.Cast(timestep, DataType.Float), 1), g.Weight("time_freqs", UNet.TimestepFrequencies(c.BaseChannels).unsqueeze(0)));   // (B, half)
        var emb = g.Concat(1, g.Node("Cos", [args]), g.Node("Sin", [args]));
        emb = Gemm(g.Silu(Gemm(emb, "time_mlp1")), "time_mlp2");
        if (labels is not null) emb = g.Add(emb, g.Gather(W("class_embed.weight"), labels));

        int L = c.Levels;
        int Ch(int level) => c.BaseChannels * c.ChannelMults[level];
        int Side(int level) => size >> level;
        var h = Conv(sample, "conv_in");
        var skips = new List<string>();
        for (int l = 0; l < L; l++)
        {
            h = Res(h, emb, $"down_blocks.{l}", l == 0 ? c.BaseChannels : Ch(l - 1), Ch(l), Side(l));
            if (l == L - 1) h = Attention(h, $"down_attn.{l}", Ch(l), Side(l));
            skips.Add(h);
            if (l < L - 1) h = Conv(h, $"downsamplers.{l}", stride: 2);
        }
        h = Res(h, emb, "mid_block1", Ch(L - 1), Ch(L - 1), Side(L - 1));
        h = Attention(h, "mid_attn", Ch(L - 1), Side(L - 1));
        h = Res(h, emb, "mid_block2", Ch(L - 1), Ch(L - 1), Side(L - 1));
        var upscale = g.Floats([1, 1, 2, 2]);
        for (int i = 0; i < L; i++)
        {
            int l = L - 1 - i;
            h = Res(g.Concat(1, h, skips[l]), emb, $"up_blocks.{i}", (l == L - 1 ? Ch(L - 1) : Ch(l + 1)) + Ch(l), Ch(l), Side(l));
            if (l == L - 1) h = Attention(h, $"up_attn.{i}", Ch(l), Side(l));
            if (i < L - 1)   // nearest-neighbour ×2 as torch's interpolate: asymmetric coordinates, floor
                h = Conv(g.Node("Resize", [h, "", upscale], null, ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"),
                    ("nearest_mode", "floor")), $"upsamplers.{i}");
        }
        var output = Conv(g.Silu(GroupNorm(h, "norm_out", c.BaseChannels, size)), "conv_out");
        g.Output(output, "noise_pred", DataType.Float, "batch_size", c.InChannels, size, size);
        return g;
    }
}
