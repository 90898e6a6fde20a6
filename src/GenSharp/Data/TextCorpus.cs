using System.Text;

namespace GenSharp.Data;

/// <summary>Reads training text from a file or a directory of text files, with clear errors.</summary>
public static class TextCorpus
{
    static readonly string[] Extensions = [".txt", ".md", ".text"];

    /// <param name="what">What the text is for, in errors: "training data", "evaluation data".</param>
    public static string Read(string path, string what = "training data")
    {
        if (File.Exists(path)) return ReadFile(path);
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: {what} not found (expected a text file or a directory of .txt/.md files)", path);
        var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new FileNotFoundException($"{path}: directory has no .txt/.md files", path);
        return string.Join("\n\n", files.Select(ReadFile));
    }

    static string ReadFile(string file)
    {
        var text = File.ReadAllText(file, Encoding.UTF8);
        if (text.Length == 0) throw new InvalidDataException($"{file}: file is empty");
        return text;
    }
}
