using System.CommandLine;
using GenSharp.Models;
using GenSharp.Tokenizers;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp train lm</c>: pretrain a language model from text, resumable.</summary>
static class TrainCommand
{
    public static Command CreateLm()
    {
        var data = Cli.Opt<string?>("--data", "Training text: a file or a directory of .txt/.md files (last 10% is validation)");
        var output = new Option<string>("--out") { Description = "Run/model directory (checkpoints, metrics, loss curve)", Required = true };
        var tokenizer = Cli.Opt("--tokenizer", "char, bpe (trained on the data) or a tokenizer.json path", "char");
        var vocab = Cli.Opt("--vocab-size", "Vocabulary size when --tokenizer bpe", 512);
        var preset = Cli.Opt("--preset", $"Model and training preset: {string.Join(", ", Preset.All.Select(p => p.Name))}", "nano-cpu");
        var steps = Cli.Opt<int?>("--steps", "Optimizer steps (with --resume: extend the run)");
        var batch = Cli.Opt<int?>("--batch-size", "Sequences per micro-batch");
        var accum = Cli.Opt<int?>("--grad-accum", "Micro-batches per optimizer step");
        var lr = Cli.Opt<double?>("--lr", "Peak learning rate");
        var minLr = Cli.Opt<double?>("--min-lr", "Final learning rate of the cosine schedule");
        var warmup = Cli.Opt<int?>("--warmup", "Linear warmup steps");
        var wd = Cli.Opt<double?>("--weight-decay", "AdamW weight decay (matrices and embeddings)");
        var clip = Cli.Opt<double?>("--grad-clip", "Clip the global gradient norm; 0 disables");
        var evalInterval = Cli.Opt<int?>("--eval-interval", "Steps between evaluations and checkpoints");
        var evalIters = Cli.Opt<int?>("--eval-iters", "Batches per loss estimate");
        var seed = Cli.Opt<long?>("--seed", "Seed for initialisation, batches and dropout");
        var layers = Cli.Opt<int?>("--layers", "Transformer layers");
        var heads = Cli.Opt<int?>("--heads", "Attention heads");
        var kvHeads = Cli.Opt<int?>("--kv-heads", "Key/value heads (fewer than --heads: grouped-query attention)");
        var dim = Cli.Opt<int?>("--dim", "Hidden size");
        var ffn = Cli.Opt<int?>("--ffn-dim", "SwiGLU hidden size");
        var context = Cli.Opt<int?>("--context", "Context length in tokens");
        var dropout = Cli.Opt<double?>("--dropout", "Residual dropout");
        var tie = Cli.Opt<bool?>("--tie-embeddings", "Share the input embedding with the output layer");
        var resume = Cli.Opt("--resume", "Continue the run in --out from its last checkpoint", false);
        var device = Cli.DeviceOption();

        var lm = new Command("lm", "Pretrain a Llama-style language model by maximum likelihood")
        {
            data, output, tokenizer, vocab, preset, steps, batch, accum, lr, minLr, warmup, wd, clip, evalInterval, evalIters, seed,
            layers, heads, kvHeads, dim, ffn, context, dropout, tie, resume, device,
        };
        lm.SetAction(r => Cli.Run(() =>
        {
            var dev = Cli.ResolveDevice(r.GetValue(device)!);
            var outDir = r.GetValue(output)!;
            LmTrainer trainer;
            if (r.GetValue(resume))
            {
                trainer = LmTrainer.Resume(outDir, dev, r.GetValue(steps));
                AnsiConsole.MarkupLineInterpolated($"resuming [bold]{outDir}[/] at step {trainer.Step}/{trainer.Options.Steps}");
            }
            else
            {
                var dataPath = r.GetValue(data) ?? throw new UserError("--data is required (or pass --resume to continue a run)");
                var p = Preset.Get(r.GetValue(preset)!);
                var text = TextCorpus.Read(dataPath);
                var tok = BuildTokenizer(r.GetValue(tokenizer)!, text, r.GetValue(vocab));
                var cfg = p.Model with
                {
                    VocabSize = tok.VocabSize,
                    NumLayers = r.GetValue(layers) ?? p.Model.NumLayers,
                    NumHeads = r.GetValue(heads) ?? p.Model.NumHeads,
                    NumKvHeads = r.GetValue(kvHeads) ?? r.GetValue(heads) ?? p.Model.NumKvHeads,
                    HiddenSize = r.GetValue(dim) ?? p.Model.HiddenSize,
                    IntermediateSize = r.GetValue(ffn) ?? p.Model.IntermediateSize,
                    MaxPositions = r.GetValue(context) ?? p.Model.MaxPositions,
                    HiddenDropout = r.GetValue(dropout) ?? p.Model.HiddenDropout,
                    TieWordEmbeddings = r.GetValue(tie) ?? p.Model.TieWordEmbeddings,
                };
                var t = p.Train;
                var opt = t with
                {
                    Steps = r.GetValue(steps) ?? t.Steps, BatchSize = r.GetValue(batch) ?? t.BatchSize, GradAccum = r.GetValue(accum) ?? t.GradAccum,
                    LearningRate = r.GetValue(lr) ?? t.LearningRate, MinLr = r.GetValue(minLr) ?? Math.Min(t.MinLr, r.GetValue(lr) ?? t.LearningRate),
                    WarmupSteps = r.GetValue(warmup) ?? t.WarmupSteps, WeightDecay = r.GetValue(wd) ?? t.WeightDecay,
                    GradClip = r.GetValue(clip) ?? t.GradClip, EvalInterval = r.GetValue(evalInterval) ?? t.EvalInterval,
                    EvalIters = r.GetValue(evalIters) ?? t.EvalIters, Seed = r.GetValue(seed) ?? t.Seed,
                };
                var dataset = TokenDataset.Build(text, tok, Path.Combine(outDir, "dataset"));
                var run = new RunInfo(Cli.CommandLine(),
                    Path.GetFullPath(dataPath), r.GetValue(tokenizer)!, p.Name);
                trainer = LmTrainer.Create(outDir, cfg.Validate(), tok, dataset, opt.Validate(), run, dev);
                AnsiConsole.MarkupLineInterpolated($"training [bold]{outDir}[/]: {Cli.Describe(trainer.Model)}; {dataset.TrainTokens:N0} train / {dataset.ValTokens:N0} val tokens");
            }
            using (trainer)
            {
                using var cts = Cli.CancelOnSignals();
                var result = TrainingProgress.Run(trainer.Step, trainer.Options.Steps, "tok/s", o => trainer.Run(cts.Token, o));
                var verb = result.Cancelled ? "stopped" : "finished";
                AnsiConsole.MarkupLineInterpolated(
                    $"{verb} at step {result.Step}: val loss {result.ValLoss:F4}, {result.MeanStepMs:F1} ms/step, {result.TokensPerSecond:N0} tokens/s, wall {result.Wall:hh\\:mm\\:ss}");
                AnsiConsole.MarkupLineInterpolated($"checkpoint, metrics.jsonl and loss.png in [bold]{outDir}[/]{(result.Cancelled ? " — continue with --resume" : "")}");
                return result.Cancelled ? 130 : 0;
            }
        }));
        return lm;
    }

    static ITokenizer BuildTokenizer(string spec, string text, int vocabSize) => spec switch
    {
        "char" => CharTokenizer.Train(text),
        "bpe" => new BpeTrainer(vocabSize, ["<|endoftext|>"]).Train(text),
        _ when File.Exists(spec) => TokenizerJson.Load(spec),
        _ when Directory.Exists(spec) && File.Exists(Path.Combine(spec, "tokenizer.json")) => TokenizerJson.Load(Path.Combine(spec, "tokenizer.json")),
        _ => throw new UserError($"--tokenizer '{spec}' is not char, bpe or an existing tokenizer.json"),
    };
}
