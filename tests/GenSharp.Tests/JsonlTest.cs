using System.Text.Json;
using GenSharp.Tokenizers;

namespace GenSharp.Tests;

/// <summary>Base for tests of JSONL data: a character tokenizer without digits, and files written from rows in the test's directory.</summary>
public abstract class JsonlTest : TempDirectoryTest
{
    protected static readonly ITokenizer Chars = CharTokenizer.Train("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:!?,. \n");

    /// <summary>Writes one line per row: a string as it is, anything else as JSON.</summary>
    protected string Jsonl(string name, params object[] rows)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, rows.Select(r => r as string ?? JsonSerializer.Serialize(r)));
        return path;
    }
}
