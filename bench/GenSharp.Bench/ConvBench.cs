using System.Diagnostics;
using GenSharp.Models;
using GenSharp.Numerics;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Bench;

/// <summary>
/// gensharp-bench conv [--rounds 3] [--steps 10]: what turning libtorch's oneDNN off costs (see ConvolutionCheck).
/// Times the bundled diffusion U-Net's training step (batch 32, 28×28) and a guided sampling step (batch 200) with
/// oneDNN on and off, alternating in one process; prints the probe's error for each setting. Only the times are
/// comparable on a CPU where oneDNN is wrong: its gradients there are not.
/// </summary>
static class ConvBench
{
    public static int Run(string[] args)
    {
        string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
        int rounds = int.Parse(Arg("--rounds", "3")), steps = int.Parse(Arg("--steps", "10"));
        manual_seed(0);
        using var unet = new UNet(new UNetConfig { NumClasses = 10 });
        var opt = optim.AdamW(unet.parameters(), 1e-4);
        Console.WriteLine($"U-Net {unet.parameters().Sum(p => p.numel()):N0} parameters, {get_num_threads()} threads; {ConvolutionCheck.Outcome}");
        var train = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        var sample = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        foreach (bool on in new[] { true, false })
        {
            ConvolutionCheck.SetOneDnn(on, "bench");
            Console.WriteLine($"oneDNN {(on ? "on " : "off")}: probe error vs fp64 {Enumerable.Range(0, 3).Max(ConvolutionCheck.Error):g3}");
        }
        for (int round = 0; round < rounds; round++)
            foreach (bool on in new[] { true, false })
            {
                ConvolutionCheck.SetOneDnn(on, "bench");
                train[on].Add(Time(steps, () =>
                {
                    var x = randn(32, 1, 28, 28); var t = randint(0, 1000, [32]); var y = randint(0, 10, [32]);
                    var loss = F.mse_loss(unet.forward(x, t, y), randn(32, 1, 28, 28));
                    opt.zero_grad(); loss.backward(); opt.step();
                }));
                using (no_grad())
                    sample[on].Add(Time(steps, () =>
                    {
                        var x = randn(200, 1, 28, 28); var t = full([200], 500L); var y = randint(0, 10, [200]);
                        unet.forward(x, t, y);
                    }));
            }
        Console.WriteLine("| step | oneDNN on (ms, median) | oneDNN off (ms, median) | off ÷ on |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, d) in new[] { ("training step, batch 32", train), ("sampling step, batch 200 (100 images, guided)", sample) })
            Console.WriteLine($"| {name} | {Median(d[true]):F1} | {Median(d[false]):F1} | {Median(d[false]) / Median(d[true]):F2}× |");
        return 0;
    }

    static double Time(int steps, Action step)
    {
        using (NewDisposeScope()) step();   // warm-up
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) { using var scope = NewDisposeScope(); step(); }
        return sw.Elapsed.TotalMilliseconds / steps;
    }

    static double Median(List<double> v) { var s = v.Order().ToArray(); return s[s.Length / 2]; }
}
