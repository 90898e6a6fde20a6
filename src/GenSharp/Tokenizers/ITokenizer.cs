namespace GenSharp.Tokenizers;

/// <summary>Maps text to token ids and back. Implementations save to and load from HF <c>tokenizer.json</c>.</summary>
public interface ITokenizer
{
    /// <summary>Number of ids the model's embedding must cover (including special tokens).</summary>
    int VocabSize { get; }

    /// <summary>Special tokens (e.g. <c>&lt;|endoftext|&gt;</c>) by content.</summary>
    IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Encodes text. Special-token strings inside <paramref name="text"/> map to their ids.</summary>
    int[] Encode(string text);

    /// <summary>The UTF-8 bytes a sequence of ids stands for (may end inside a multi-byte character).</summary>
    byte[] DecodeBytes(IEnumerable<int> ids);

    /// <summary>
    /// Special tokens the tokenizer.json post-processor puts before a text (TemplateProcessing's <c>single</c>: Llama's
    /// &lt;s&gt;, Llama 3's &lt;|begin_of_text|&gt;). <see cref="Encode"/> leaves them out, as <c>add_special_tokens=False</c>
    /// does; a prompt for generation starts with them (unless its text already does, as a chat template's bos_token makes it).
    /// </summary>
    int[] PromptPrefix => [];

    /// <summary>Writes the HF <c>tokenizer.json</c> representation.</summary>
    void Save(string path);
}

