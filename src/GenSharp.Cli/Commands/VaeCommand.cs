using System.CommandLine;
using GenSharp.Data;
using GenSharp.Imaging;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp vae reconstruct|interpolate</c>: what a VAE's latent space does with real images (sampling is <c>generate</c>).</summary>
static class VaeCommand
{
    const string ImagesHelp = "Images: fashion-mnist (test set), fashion-mnist:N (test image N), a folder, or an image file";

    public static Command Create() => new("vae", "Reconstruct images through a VAE or interpolate between two in its latent space") { Reconstruct(), Interpolate() };

    static Command Reconstruct()
    {
        var model = new Option<string>("--model") { Description = "VAE model directory", Required = true };
        var images = new Option<string[]>("--images") { Description = ImagesHelp, Required = true, AllowMultipleArgumentsPerToken = true };
        var n = Cli.Opt("--n", "Reconstruct the first n images", 10);
        var output = Cli.Opt("--out", "PNG grid: originals on top, reconstructions below", "reconstructions.png");
        var compute = new ComputeFlags();
        var cmd = new Command("reconstruct", "Encode images to their latent means and decode them again") { model, images, n, output, compute.Device, compute.Threads };
        cmd.SetAction(r => Cli.Run(() =>
        {
            int count = r.GetValue(n);
            if (count is < 1 or > 1000) throw new UserError($"--n must be in 1…1000 (got {count})");
            var vae = AutoPipeline.OpenVae(r.GetValue(model)!, compute.Resolve(r));
            var c = vae.Model.Config;
            var (data, _) = ImageData.LoadInputs(r.GetValue(images)!, c.ImageSize, c.InChannels);
            using (data)
            {
                using var scope = NewDisposeScope();
                count = Math.Min(count, data.Count);
                var (x, _) = data.Batch([.. Enumerable.Range(0, count).Select(i => (long)i)], CPU);
                int columns = Math.Min(count, 10);
                var rows = new List<Tensor>();
                var recon = vae.Reconstruct(x).cpu();
                for (int i = 0; i < count; i += columns)   // pairs of rows: originals, then their reconstructions
                {
                    int w = Math.Min(columns, count - i);
                    rows.Add(Pad(x.narrow(0, i, w), columns));
                    rows.Add(Pad(recon.narrow(0, i, w), columns));
                }
                var path = r.GetValue(output)!;
                ImageGrid.Save(path, cat(rows), columns, scale: 3);
                double mse = (recon - x).pow(2).mean().item<float>();
                Console.WriteLine($"wrote {path}: {count} image(s) and their reconstructions (mean squared error {mse:F4} on the [−1, 1] scale)");
            }
            return 0;
        }));
        return cmd;
    }

    // A short last row is filled with blank (black) images so originals and reconstructions stay aligned.
    static Tensor Pad(Tensor row, int columns) =>
        row.shape[0] == columns ? row : cat([row, full([columns - row.shape[0], .. row.shape[1..]], -1f)]);

    static Command Interpolate()
    {
        var model = new Option<string>("--model") { Description = "VAE model directory", Required = true };
        var from = new Option<string>("--from") { Description = "First image: fashion-mnist:N or an image file", Required = true };
        var to = new Option<string>("--to") { Description = "Second image: fashion-mnist:N or an image file", Required = true };
        var steps = Cli.Opt("--steps", "Images along the path, ends included", 10);
        var output = Cli.Opt("--out", "PNG strip", "interpolation.png");
        var compute = new ComputeFlags();
        var cmd = new Command("interpolate", "Decode points on the straight line between two images' latent means") { model, from, to, steps, output, compute.Device, compute.Threads };
        cmd.SetAction(r => Cli.Run(() =>
        {
            int k = r.GetValue(steps);
            if (k is < 2 or > 100) throw new UserError($"--steps must be in 2…100 (got {k})");
            var vae = AutoPipeline.OpenVae(r.GetValue(model)!, compute.Resolve(r));
            var c = vae.Model.Config;
            var (data, _) = ImageData.LoadInputs([r.GetValue(from)!, r.GetValue(to)!], c.ImageSize, c.InChannels);
            using (data)
            {
                if (data.Count != 2) throw new UserError("--from and --to must each name one image (not a folder or the whole test set)");
                using var scope = NewDisposeScope();
                var (x, _) = data.Batch([0, 1], CPU);
                var path = r.GetValue(output)!;
                ImageGrid.Save(path, cat([x.narrow(0, 0, 1), vae.Interpolate(x[0], x[1], k).cpu(), x.narrow(0, 1, 1)]), columns: k + 2, scale: 3);
                Console.WriteLine($"wrote {path}: {r.GetValue(from)}, {k} decoded points from its latent mean to that of {r.GetValue(to)}, then {r.GetValue(to)}");
            }
            return 0;
        }));
        return cmd;
    }
}
