using System.CommandLine;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp chat</c>: an interactive conversation with streamed replies. Reads lines from stdin, so it can be scripted.</summary>
static class ChatCommand
{
    const string Help = "commands: /reset (forget the conversation), /system TEXT (set the system message), /exit";

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (chat_template.json is used when present)", Required = true };
        var system = Cli.Opt<string?>("--system", "System message that opens the conversation");
        var sampling = new SamplingFlags(defaultMaxTokens: 200);
        var compute = new ComputeFlags();
        var adapter = Cli.Opt<string?>("--adapter", "A LoRA adapter directory (PEFT layout) applied to the model");
        var decode = new DecodeFlags();
        var cmd = new Command("chat", "Chat with a language model (" + Help + ")") { model, system, adapter, compute.Device, compute.Threads, decode.Quantize, decode.Decode };
        foreach (var o in sampling.All) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dir = r.GetValue(model)!;
            var options = sampling.Read(r, dir).Validate();
            var kernels = decode.Read(r);
            var chat = AutoPipeline.OpenChat(dir, compute.Resolve(r), adapter: r.GetValue(adapter), kernels: kernels);
            string? systemMessage = r.GetValue(system) is { } s ? SamplingFlags.CheckText(s, "--system") : null;
            var turns = new List<ChatMessage>();
            bool interactive = !Console.IsInputRedirected;
            if (interactive) Console.WriteLine($"chatting with {dir} — {Help}");
            var cancel = Cli.CancelOnSignals();
            while (!cancel.IsCancellationRequested)
            {
                if (interactive) Console.Write("you> ");
                var line = Console.ReadLine();
                if (line is null || line.Trim() is "/exit" or "/quit") break;
                if (line.Trim().Length == 0) continue;
                if (line.Trim() == "/reset") { turns.Clear(); Console.WriteLine("(conversation cleared)"); continue; }
                if (line.StartsWith("/system", StringComparison.Ordinal))
                {
                    systemMessage = line[7..].Trim() is { Length: > 0 } t ? t : null;
                    Console.WriteLine(systemMessage is null ? "(system message removed)" : "(system message set)");
                    continue;
                }
                if (line.StartsWith('/')) { Console.WriteLine($"unknown command {line.Split(' ')[0]}; {Help}"); continue; }
                turns.Add(new ChatMessage("user", line));
                List<ChatMessage> messages = systemMessage is null ? turns : [new("system", systemMessage), .. turns];
                string reply;
                try { reply = Reply(chat, messages, options, cancel); }
                catch (ArgumentException e)
                {
                    // A message the model cannot take (unknown character, too long) ends the turn, not the session.
                    turns.RemoveAt(turns.Count - 1);
                    Console.Error.WriteLine($"error: {e.Message}");
                    continue;
                }
                turns.Add(new ChatMessage("assistant", reply));
            }
            return 0;
        }));
        return cmd;
    }

    static string Reply(ChatPipeline chat, List<ChatMessage> messages, GenerationOptions options, CancellationToken cancel)
    {
        var chunks = chat.Stream(messages, options, cancel);   // validates before anything is printed
        Console.Write("assistant> ");
        var reply = new System.Text.StringBuilder();
        try
        {
            foreach (var c in chunks)
            {
                Console.Write(c.Text);
                reply.Append(c.Text);
            }
        }
        catch (OperationCanceledException) { }
        Console.WriteLine();
        return reply.ToString();
    }
}
