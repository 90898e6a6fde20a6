using System.CommandLine;
using System.CommandLine.Help;
using GenSharp.Cli.Commands;

// Declares the command tree only; each command lives in Commands/.
// A plain Command (not RootCommand) so help and errors say "gensharp", not the assembly name.
var root = new Command("gensharp", "GenSharp — train, evaluate and run generative models in .NET")
{
    new HelpOption(),
    new VersionOption(),
    DemoCommand.Create(),
    new Command("train", "Train models") { TrainCommand.CreateLm(), TrainDiffusionCommand.Create(), TrainVaeCommand.Create(), TrainGanCommand.Create(), ImageCommands.TrainClassifier() },
    EvalCommand.Create(),
    GenerateCommand.Create(),
    ChatCommand.Create(),
    VaeCommand.Create(),
    AnomalyCommand.Create(),
    ServeCommand.Create(),
    FeedbackCommand.Create(),
    TokenizerCommand.Create(),
};
Cli.ConfigureConsole();
return root.Parse(args).Invoke();
