using System.CommandLine;
using GenSharp.Data;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp train reward</c>: a reward model (Bradley–Terry) from preference pairs or the playground's feedback.</summary>
static class TrainRewardCommand
{
    public static Command Create()
    {
        var d = new RewardOptions { BaseModel = "", Data = "" };
        var f = new TrainFlags(RewardTrainer.TaskKind, $"default {d.Steps}");
        var source = new PreferenceSource();
        var model = Cli.Opt<string?>("--model", "The language model whose decoder the reward model starts from (required for a new run)");
        var evalFraction = Cli.Opt("--eval-fraction", "Fraction of the pairs held out for evaluation", d.DataOptions.EvalFraction);
        var system = Cli.Opt<string?>("--system", "System message for conversations that have none");
        var skipBad = Cli.Opt("--skip-bad", "Skip (and count) malformed rows instead of stopping at the first", false);
        var batch = Cli.Opt("--batch-size", "Pairs per step", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate", d.LearningRate);
        var warmup = Cli.Opt("--warmup", "Linear warmup steps", d.WarmupSteps);
        var evalInterval = Cli.Opt("--eval-interval", "Steps between evaluations and checkpoints", d.EvalInterval);
        var cmd = f.Command("reward", "Train a reward model (LlamaForSequenceClassification, Bradley–Terry loss) on preference pairs",
            [model, .. source.Options, evalFraction, system, skipBad, batch, lr, warmup, evalInterval]);
        cmd.SetAction(r => Cli.Run(() => f.Train(r, (dir, dev) =>
        {
            var baseModel = r.GetValue(model) ?? throw new UserError("--model is required (or pass --resume to continue a run)");
            double peak = r.GetValue(lr);
            var opt = d with
            {
                BaseModel = baseModel, Data = source.Resolve(r, dir),
                DataOptions = new SftDataOptions { System = r.GetValue(system), EvalFraction = r.GetValue(evalFraction), SkipBad = r.GetValue(skipBad) },
                Steps = r.GetValue(f.Steps) ?? d.Steps, BatchSize = r.GetValue(batch), LearningRate = peak, MinLr = peak / 10,
                WarmupSteps = r.GetValue(warmup), EvalInterval = r.GetValue(evalInterval), Seed = r.GetValue(f.Seed) ?? d.Seed,
            };
            var loop = RewardTrainer.Create(dir, opt.Validate(), Cli.CommandLine(), dev);
            var data = ((RewardTrainer)loop.Task).Data;
            AnsiConsole.MarkupLineInterpolated(
                $"{data.Format} pairs: {data.Train.Count:N0} training, {data.Eval.Count:N0} held-out{(data.Duplicates > 0 ? $", {data.Duplicates} repeats read once" : "")}{(data.Skipped > 0 ? $", {data.Skipped} bad rows skipped" : "")}");
            return loop;
        })));
        return cmd;
    }
}
