using GenSharp.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GenSharp.IO;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Data;

/// <summary>
/// A tokenized corpus split into train (first 90%) and validation (last 10%) like nanoGPT's prepare.py,
/// cached as binary token files so later runs skip tokenization. Batches are random windows whose
/// positions depend only on (seed, step, micro-step): a resumed run sees exactly the same data.
/// </summary>
public sealed class TokenDataset : IDisposable
{
    readonly Tensor _train, _val;   // int32 token ids, CPU

    TokenDataset(int[] train, int[] val)
    {
        _train = tensor(train, ScalarType.Int32);
        _val = tensor(val, ScalarType.Int32);
    }

    public long TrainTokens => _train.shape[0];
    public long ValTokens => _val.shape[0];

    /// <summary>Tokenizes <paramref name="text"/> or reuses the cache in <paramref name="cacheDir"/> when text and tokenizer are unchanged.</summary>
    public static TokenDataset Build(string text, ITokenizer tokenizer, string cacheDir, double trainFraction = 0.9)
    {
        var split = (int)(text.Length * trainFraction);
        // Do not split a surrogate pair.
        if (split > 0 && split < text.Length && char.IsLowSurrogate(text[split])) split--;
        var key = CacheKey(text, tokenizer, trainFraction);
        var meta = Path.Combine(cacheDir, "meta.json");
        var trainPath = Path.Combine(cacheDir, "train.bin");
        var valPath = Path.Combine(cacheDir, "val.bin");
        if (ReadCache(meta, trainPath, valPath, key, tokenizer.VocabSize) is var (cachedTrain, cachedVal))
            return new TokenDataset(cachedTrain, cachedVal);
        var train = tokenizer.Encode(text[..split]);
        var val = tokenizer.Encode(text[split..]);
        Directory.CreateDirectory(cacheDir);
        WriteTokens(trainPath, train);
        WriteTokens(valPath, val);
        AtomicFile.WriteAllText(meta, JsonSerializer.Serialize(new
        {
            key, train_tokens = train.Length, val_tokens = val.Length, vocab_size = tokenizer.VocabSize, format = "int32 little-endian",
            train_sha256 = FileHash.Sha256(trainPath), val_sha256 = FileHash.Sha256(valPath),
        }));
        return new TokenDataset(train, val);
    }

    /// <summary>
    /// The cached tokens when the cache is for this text and tokenizer and intact: each file's SHA-256 matches meta.json
    /// and every id is in the vocabulary. Anything else (a damaged or edited file) is re-tokenized, never used.
    /// </summary>
    static (int[] Train, int[] Val)? ReadCache(string meta, string trainPath, string valPath, string key, int vocabSize)
    {
        if (!File.Exists(meta) || !File.Exists(trainPath) || !File.Exists(valPath)) return null;
        try
        {
            var root = JsonDocument.Parse(File.ReadAllText(meta)).RootElement;
            if (root.GetProperty("key").GetString() != key) return null;
            if (!root.TryGetProperty("train_sha256", out var th) || th.GetString() != FileHash.Sha256(trainPath)) return null;
            if (!root.TryGetProperty("val_sha256", out var vh) || vh.GetString() != FileHash.Sha256(valPath)) return null;
            var (train, val) = (ReadTokens(trainPath), ReadTokens(valPath));
            return train.Concat(val).All(t => t >= 0 && t < vocabSize) ? (train, val) : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException) { return null; }
    }


    static string CacheKey(string text, ITokenizer tokenizer, double trainFraction)
    {
        var tmp = Path.GetTempFileName();
        try
        {
            tokenizer.Save(tmp);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(Encoding.UTF8.GetBytes(text));
            sha.AppendData(File.ReadAllBytes(tmp));
            sha.AppendData(BitConverter.GetBytes(trainFraction));
            return Convert.ToHexString(sha.GetHashAndReset());
        }
        finally { File.Delete(tmp); }
    }

    static void WriteTokens(string path, int[] tokens)
    {
        var bytes = new byte[tokens.Length * 4];
        Buffer.BlockCopy(tokens, 0, bytes, 0, bytes.Length);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    static int[] ReadTokens(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % 4 != 0) throw new InvalidDataException($"{path}: token cache is corrupt (length {bytes.Length} is not a multiple of 4)");
        var tokens = new int[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, tokens, 0, bytes.Length);
        return tokens;
    }

    /// <summary>
    /// Inputs (B, T) and next-token targets (B, T) on <paramref name="device"/>, from windows chosen by a
    /// counter-based hash of (seed, step, micro) — no RNG state to save for exact resume.
    /// </summary>
    public (Tensor X, Tensor Y) Batch(bool validation, int batchSize, int blockSize, long seed, long step, int micro, Device device)
    {
        var data = validation ? _val : _train;
        long n = data.shape[0] - blockSize - 1;
        if (n <= 0)
            throw new InvalidOperationException($"the {(validation ? "validation" : "training")} split has {data.shape[0]} tokens, too few for a context of {blockSize}");
        var starts = new long[batchSize];
        for (int b = 0; b < batchSize; b++)
            starts[b] = (long)(SplitMix64.Hash((ulong)seed, (ulong)step, (ulong)micro, (ulong)b, validation ? 1UL : 0UL) % (ulong)n);
        using var scope = NewDisposeScope();
        var idx = tensor(starts).unsqueeze(1) + arange(blockSize + 1).unsqueeze(0);   // (B, T+1)
        var windows = data[idx].to(ScalarType.Int64);
        var x = windows[.., ..blockSize].contiguous().to(device);
        var y = windows[.., 1..].contiguous().to(device);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        _train.Dispose();
        _val.Dispose();
    }
}
