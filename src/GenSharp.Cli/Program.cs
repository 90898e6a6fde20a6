using System.CommandLine;
using GenSharp.Cli.Commands;

// Declares the command tree only; each command lives in Commands/.
var root = new RootCommand("GenSharp — train, evaluate and run generative models in .NET")
{
    DemoCommand.Create(),
    TrainCommand.Create(),
    EvalCommand.Create(),
    GenerateCommand.Create(),
    TokenizerCommand.Create(),
};
Cli.ConfigureConsole();
return root.Parse(args).Invoke();
