using System.CommandLine;
using System.CommandLine.Help;
using GenSharp.Cli.Commands;
using GenSharp.Numerics;

// Before anything touches TorchSharp: libtorch's threads should yield when another process shares the cores.
CpuThreads.YieldWhenShared();

// Declares the command tree only; each command lives in Commands/.
// A plain Command (not RootCommand) so help and errors say "gensharp", not the assembly name.
var root = new Command("gensharp", "GenSharp — train, evaluate and run generative models in .NET")
{
    new HelpOption(),
    new VersionOption(),
    DemoCommand.Create(),
    new Command("train", "Train models") { TrainCommand.CreateLm(), TrainDiffusionCommand.Create(), TrainVaeCommand.Create(), TrainGanCommand.Create(), ImageCommands.TrainClassifier(), TrainRewardCommand.Create(), TrainEmbedderCommand.Create() },
    FinetuneCommand.Create(),
    FinetuneCommand.Lora(),
    AlignCommand.Create(),
    EvalCommand.Create(),
    GenerateCommand.Create(),
    ScoreCommand.Create(),
    ChatCommand.Create(),
    VaeCommand.Create(),
    AnomalyCommand.Create(),
    ServeCommand.Create(),
    FeedbackCommand.Create(),
    RagCommand.Create(),
    TokenizerCommand.Create(),
    InteropCommands.Export(),
    InteropCommands.Import(),
    QuantizeCommand.Create(),
};
Cli.ConfigureConsole();
var parsed = root.Parse(args);
// An unknown word is the mistake to name first; "Required command was not provided" only repeats it.
if (parsed.Errors.Any(e => e.Message.StartsWith("Unrecognized command or argument", StringComparison.Ordinal)))
{
    foreach (var e in parsed.Errors.Where(e => !e.Message.StartsWith("Required command", StringComparison.Ordinal)))
        Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine("Run 'gensharp --help' (or 'gensharp COMMAND --help') for the commands and their options.");
    return 1;
}
return parsed.Invoke();
