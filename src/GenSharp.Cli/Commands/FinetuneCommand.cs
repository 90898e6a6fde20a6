using System.CommandLine;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp finetune</c> (TRL's SFTTrainer: full or LoRA) and <c>gensharp lora merge</c>.</summary>
static class FinetuneCommand
{
    public static Command Create()
    {
        var d = new SftOptions { BaseModel = "", Data = "" };
        var f = new TrainFlags(SftTrainer.TaskKind, $"default {d.Steps}");
        var model = Cli.Opt<string?>("--model", "The model directory to fine-tune (required for a new run)");
        var data = Cli.Opt<string?>("--data", "Plain text (file or folder), or JSONL: {\"text\"}, {\"prompt\",\"completion\"} or {\"messages\":[…]} (TRL's formats)");
        var method = Cli.Opt("--method", "full (every weight) or lora (an adapter on a frozen base)", d.Method);
        var rank = Cli.Opt("--lora-rank", "LoRA rank r", d.Lora.Rank);
        var alpha = Cli.Opt("--lora-alpha", "LoRA α (the update is scaled by α/r)", d.Lora.Alpha);
        var dropout = Cli.Opt("--lora-dropout", "Dropout on the adapter's input", d.Lora.Dropout);
        var targets = Cli.Opt("--lora-targets", "Projections that get an adapter", string.Join(",", d.Lora.TargetModules));
        var system = Cli.Opt<string?>("--system", "System message for conversations that have none");
        var packing = Cli.Opt("--packing", "Pack examples into full context windows", false);
        var evalFraction = Cli.Opt("--eval-fraction", "Fraction of the examples held out for evaluation", d.DataOptions.EvalFraction);
        var skipBad = Cli.Opt("--skip-bad", "Skip (and count) malformed lines instead of stopping at the first", false);
        var extendVocab = Cli.Opt("--extend-vocab", "Add the data's characters the tokenizer lacks (grows the embedding and output layers; with LoRA they train too)", false);
        var batch = Cli.Opt("--batch-size", "Examples per step", d.BatchSize);
        var lr = Cli.Opt<double?>("--lr", $"Peak learning rate (default {d.LearningRate} for lora, 1e-4 for full)");
        var warmup = Cli.Opt("--warmup", "Linear warmup steps", d.WarmupSteps);
        var wd = Cli.Opt("--weight-decay", "AdamW weight decay", d.WeightDecay);
        var evalInterval = Cli.Opt("--eval-interval", "Steps between evaluations and checkpoints", d.EvalInterval);
        var evalIters = Cli.Opt("--eval-iters", "Held-out batches per evaluation", d.EvalBatches);
        var cmd = f.Command("finetune", "Fine-tune a language model on text or chat data (supervised; full or LoRA in PEFT's layout)",
            model, data, method, rank, alpha, dropout, targets, system, packing, evalFraction, skipBad, extendVocab, batch, lr, warmup, wd, evalInterval, evalIters);
        cmd.SetAction(r => Cli.Run(() => f.Train(r, (dir, dev) =>
        {
            var baseModel = r.GetValue(model) ?? throw new UserError("--model is required (or pass --resume to continue a run)");
            var dataPath = r.GetValue(data) ?? throw new UserError("--data is required (or pass --resume to continue a run)");
            var m = r.GetValue(method)!;
            double peak = r.GetValue(lr) ?? (m == "full" ? 1e-4 : d.LearningRate);
            var opt = d with
            {
                BaseModel = baseModel, Data = dataPath, Method = m, ExtendVocab = r.GetValue(extendVocab),
                Lora = new LoraConfig { Rank = r.GetValue(rank), Alpha = r.GetValue(alpha), Dropout = r.GetValue(dropout), TargetModules = r.GetValue(targets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                DataOptions = new SftDataOptions { System = r.GetValue(system), Packing = r.GetValue(packing), EvalFraction = r.GetValue(evalFraction), SkipBad = r.GetValue(skipBad) },
                Steps = r.GetValue(f.Steps) ?? d.Steps, BatchSize = r.GetValue(batch), LearningRate = peak, MinLr = peak / 10, WarmupSteps = r.GetValue(warmup),
                WeightDecay = r.GetValue(wd), EvalInterval = r.GetValue(evalInterval), EvalBatches = r.GetValue(evalIters), Seed = r.GetValue(f.Seed) ?? d.Seed,
            };
            var loop = SftTrainer.Create(dir, opt.Validate(), Cli.CommandLine(), dev);
            var task = (SftTrainer)loop.Task;
            AnsiConsole.MarkupLineInterpolated(
                $"{task.Data.Format} data: {task.Data.Train.Count:N0} training, {task.Data.Eval.Count:N0} held-out examples{(task.Data.Skipped > 0 ? $", {task.Data.Skipped} bad lines skipped" : "")}; {task.TrainableParameters:N0} trainable parameters ({m}); vocabulary {task.Model.Config.VocabSize}");
            return loop;
        })));
        return cmd;
    }

    public static Command Lora()
    {
        var model = new Option<string>("--model") { Description = "The base model directory", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "The LoRA adapter directory (PEFT layout)", Required = true };
        var output = new Option<string>("--out") { Description = "Where the merged model directory goes", Required = true };
        var merge = new Command("merge", "Fold a LoRA adapter into its base model's weights: a plain model directory") { model, adapter, output };
        merge.SetAction(r => Cli.Run(() =>
        {
            LoraAdapter.Merge(r.GetValue(model)!, r.GetValue(adapter)!, r.GetValue(output)!);
            AnsiConsole.MarkupLineInterpolated($"merged model in [bold]{r.GetValue(output)}[/]");
            return 0;
        }));
        return new Command("lora", "LoRA adapters") { merge };
    }
}
