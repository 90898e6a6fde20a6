using GenSharp.Data;
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
        var f = new TrainFlags(LmTrainer.TaskKind, "default: the preset's");
        var data = Cli.Opt<string?>("--data", "Training text: a file or a directory of .txt/.md files (last 10% is validation)");
        var tokenizer = Cli.Opt("--tokenizer", "char, bpe (trained on the data) or a tokenizer.json path", "char");
        var vocab = Cli.Opt("--vocab-size", "Vocabulary size when --tokenizer bpe", 512);
        var preset = Cli.Opt("--preset", $"Model and training preset: {string.Join(", ", Preset.All.Select(p => p.Name))}", "nano-cpu");
        var batch = Cli.Opt<int?>("--batch-size", "Sequences per micro-batch");
        var accum = Cli.Opt<int?>("--grad-accum", "Micro-batches per optimizer step");
        var lr = Cli.Opt<double?>("--lr", "Peak learning rate");
        var minLr = Cli.Opt<double?>("--min-lr", "Final learning rate of the cosine schedule");
        var warmup = Cli.Opt<int?>("--warmup", "Linear warmup steps");
        var wd = Cli.Opt<double?>("--weight-decay", "AdamW weight decay (matrices and embeddings)");
        var clip = Cli.Opt<double?>("--grad-clip", "Clip the global gradient norm; 0 disables");
        var evalInterval = Cli.Opt<int?>("--eval-interval", "Steps between evaluations and checkpoints");
        var evalIters = Cli.Opt<int?>("--eval-iters", "Batches per loss estimate");
        var layers = Cli.Opt<int?>("--layers", "Transformer layers");
        var heads = Cli.Opt<int?>("--heads", "Attention heads");
        var kvHeads = Cli.Opt<int?>("--kv-heads", "Key/value heads (fewer than --heads: grouped-query attention)");
        var dim = Cli.Opt<int?>("--dim", "Hidden size");
        var ffn = Cli.Opt<int?>("--ffn-dim", "SwiGLU hidden size");
        var context = Cli.Opt<int?>("--context", "Context length in tokens");
        var dropout = Cli.Opt<double?>("--dropout", "Residual dropout");
        var tie = Cli.Opt<bool?>("--tie-embeddings", "Share the input embedding with the output layer");

        var lm = f.Command("lm", "Pretrain a Llama-style language model by maximum likelihood",
            data, tokenizer, vocab, preset, batch, accum, lr, minLr, warmup, wd, clip, evalInterval, evalIters,
            layers, heads, kvHeads, dim, ffn, context, dropout, tie);
        lm.SetAction(r => Cli.Run(() => f.Train(r, (outDir, dev) =>
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
                Steps = r.GetValue(f.Steps) ?? t.Steps, BatchSize = r.GetValue(batch) ?? t.BatchSize, GradAccum = r.GetValue(accum) ?? t.GradAccum,
                LearningRate = r.GetValue(lr) ?? t.LearningRate, MinLr = r.GetValue(minLr) ?? Math.Min(t.MinLr, r.GetValue(lr) ?? t.LearningRate),
                WarmupSteps = r.GetValue(warmup) ?? t.WarmupSteps, WeightDecay = r.GetValue(wd) ?? t.WeightDecay,
                GradClip = r.GetValue(clip) ?? t.GradClip, EvalInterval = r.GetValue(evalInterval) ?? t.EvalInterval,
                EvalIters = r.GetValue(evalIters) ?? t.EvalIters, Seed = r.GetValue(f.Seed) ?? t.Seed,
            };
            cfg.Validate();
            opt.Validate();
            var dataset = TokenDataset.Build(text, tok, Path.Combine(outDir, LmTrainer.DatasetFolder));
            var run = new RunInfo(Cli.CommandLine(), Path.GetFullPath(dataPath), r.GetValue(tokenizer)!, p.Name);
            var loop = LmTrainer.Create(outDir, cfg, tok, dataset, opt, run, dev);
            AnsiConsole.MarkupLineInterpolated($"{Cli.Describe(((LmTrainer)loop.Task).Model)}; {dataset.TrainTokens:N0} train / {dataset.ValTokens:N0} val tokens");
            return loop;
        })));
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
