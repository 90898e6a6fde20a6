using GenSharp.Data;
using System.CommandLine;
using GenSharp.Tokenizers;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp tokenizer train</c>: learn a byte-level BPE tokenizer and save tokenizer.json.</summary>
static class TokenizerCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Text file or directory of .txt/.md files", Required = true };
        var vocab = Cli.Opt("--vocab-size", "Vocabulary size including the 256 byte symbols and special tokens", 1024);
        var output = new Option<string>("--out") { Description = "Output tokenizer.json path (or a directory)", Required = true };
        var specials = Cli.Opt("--special-tokens", "Special tokens, comma-separated", "<|endoftext|>");
        var train = new Command("train", "Train a byte-level BPE tokenizer") { data, vocab, output, specials };
        train.SetAction(r => Cli.Run(() =>
        {
            var text = TextCorpus.Read(r.GetValue(data)!);
            var specialList = r.GetValue(specials)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var trainer = new BpeTrainer(r.GetValue(vocab), specialList);
            ByteLevelBpeTokenizer tokenizer = null!;
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("learning merges", maxValue: 1.0);
                tokenizer = trainer.Train(text, new Progress<double>(p => task.Value = p));
                task.Value = 1.0;
            });
            var path = r.GetValue(output)!;
            if (Directory.Exists(path) || path.EndsWith('/')) path = Path.Combine(path, "tokenizer.json");
            tokenizer.Save(path);
            var ids = tokenizer.Encode(text);
            AnsiConsole.MarkupLineInterpolated($"saved [bold]{path}[/]: vocab {tokenizer.VocabSize}, {text.Length:N0} chars → {ids.Length:N0} tokens ({(double)text.Length / ids.Length:F2} chars/token)");
            return 0;
        }));
        return new Command("tokenizer", "Tokenizer tools") { train };
    }
}
