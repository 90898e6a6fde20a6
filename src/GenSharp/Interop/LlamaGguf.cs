using System.Text;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Interop;

/// <summary>
/// A GenSharp language model as a GGUF file for llama.cpp (and Ollama, LM Studio), and back. Architecture "llama" (llama,
/// mistral) or "qwen2": llama.cpp's tensor names (token_embd, blk.N.attn_q, …, output), its metadata keys, and for "llama"
/// q/k rows permuted from HF's rotate-half layout to GGML's interleaved rotary pairs, as llama.cpp's convert_hf_to_gguf.py
/// does (qwen2's rope is rotate-half in llama.cpp too). Norms stay F32; matrices are written as F32, F16 or Q8_0 (a matrix
/// whose rows are not a multiple of 32 falls back to F16 for Q8_0). Tokenizers map to llama.cpp's "gpt2" model (byte-level
/// BPE; pre-tokenizer gpt-2, llama-bpe or qwen2): a byte-level BPE as it is; a character vocabulary as its characters
/// written in GPT-2's byte-to-unicode alphabet, a multi-byte character joined by merges of its bytes; or to its "llama"
/// model (SentencePiece BPE with scores).
/// </summary>
public static class LlamaGguf
{
    public static readonly string[] Types = ["f32", "f16", "q8_0"];

    /// <summary>Writes <paramref name="modelDir"/>'s model as <paramref name="path"/> with matrices of <paramref name="type"/> (f32, f16 or q8_0).</summary>
    public static (int Tensors, long Bytes) Export(string modelDir, string path, string type = "f32")
    {
        var matrixType = type.ToLowerInvariant() switch
        {
            "f32" => GgmlType.F32, "f16" => GgmlType.F16, "q8_0" => GgmlType.Q8_0,
            _ => throw new ArgumentException($"--type must be one of {string.Join(", ", Types)} (got '{type}')"),
        };
        var (model, tokenizer) = ModelDirectory.Load(modelDir);
        using var _ = model;
        var c = model.Config;
        // llama.cpp's architectures: Mistral's decoder is "llama" (its sliding window already caps the context); Qwen2 is
        // "qwen2", with q/k/v biases and rotate-half ("neox") rope, so its q/k rows keep HF's layout.
        string arch = c.ModelType == "qwen2" ? "qwen2" : "llama";
        if (c.RopeScaling is { Kind: "llama3" } && arch != "llama") throw new ArgumentException("GGUF export of rope_scaling llama3 covers the llama architecture");
        var w = new GgufWriter()
            .Set("general.architecture", arch)
            .Set("general.name", Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/')))
            .Set("general.file_type", matrixType switch { GgmlType.F32 => 0u, GgmlType.F16 => 1u, _ => 7u })   // llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_Q8_0
            .Set("general.alignment", (uint)GgufFile.DefaultAlignment)
            .Set($"{arch}.vocab_size", (uint)c.VocabSize)
            .Set($"{arch}.context_length", (uint)c.MaxPositions)
            .Set($"{arch}.embedding_length", (uint)c.HiddenSize)
            .Set($"{arch}.block_count", (uint)c.NumLayers)
            .Set($"{arch}.feed_forward_length", (uint)c.IntermediateSize)
            .Set($"{arch}.attention.head_count", (uint)c.NumHeads)
            .Set($"{arch}.attention.head_count_kv", (uint)c.NumKvHeads)
            .Set($"{arch}.rope.dimension_count", (uint)c.HeadDim)
            .Set($"{arch}.rope.freq_base", (float)c.RopeTheta)
            .Set($"{arch}.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        if (c.RopeScaling is { Kind: "linear" } linear)
            w.Set($"{arch}.rope.scaling.type", "linear").Set($"{arch}.rope.scaling.factor", (float)linear.Factor);
        if (c.RopeScaling is { Kind: "llama3" } llama3)
        {
            var factors = RopeFreqFactors(c, llama3);
            w.AddTensor("rope_freqs.weight", [factors.Length], GgmlType.F32, GgmlQuant.Encode(factors, GgmlType.F32));
            w.Set(RopeScalingKey, System.Text.Json.JsonSerializer.Serialize(llama3));   // so GenSharp's import gets the parameters back
        }
        WriteTokenizer(w, tokenizer, c);
        if (ChatTemplate.Load(modelDir).Jinja is { } jinja) w.Set("tokenizer.chat_template", jinja);   // the model's own template travels with it
        int count = 0;
        long bytes = 0;
        using (no_grad())
            foreach (var (name, tensor) in model.state_dict())
            {
                if (name == "lm_head.weight" && c.TieWordEmbeddings) continue;
                var (ggufName, permuteHeads) = GgufName(name, c);
                using var t = permuteHeads is { } heads ? ToInterleavedRope(tensor, heads) : tensor.detach().contiguous();
                var values = t.to_type(ScalarType.Float32).data<float>().ToArray();
                long[] dims = [.. t.shape.Reverse()];
                var kind = dims.Length == 1 ? GgmlType.F32 : matrixType == GgmlType.Q8_0 && dims[0] % GgmlTypes.Q8Block != 0 ? GgmlType.F16 : matrixType;
                var data = GgmlQuant.Encode(values, kind);
                w.AddTensor(ggufName, dims, kind, data);
                (count, bytes) = (count + 1, bytes + data.Length);
            }
        w.Save(path);
        return (count, bytes);
    }

    /// <summary>
    /// Reads a llama-architecture GGUF file (F32, F16, BF16 or Q8_0 tensors, decoded to fp32) with a GPT-2-style tokenizer
    /// into a GenSharp model directory. Errors name the key or tensor; anything the file holds that the model would not
    /// use is refused rather than dropped.
    /// </summary>
    public static (LlamaConfig Config, ITokenizer Tokenizer) Import(string path, string modelDir)
    {
        var f = GgufFile.Read(path);
        var arch = f.Get<string>("general.architecture");
        if (arch is not ("llama" or "qwen2")) throw new GgufFormatException(path, $"architecture '{arch}' is not supported (supported: llama, qwen2)");
        int U(string key) => f.FindInteger(key) is { } n && n is > 0 and <= int.MaxValue ? (int)n : throw new GgufFormatException(path, $"metadata '{key}' is missing or not a positive integer");
        // An f32 constant read back as the decimal it was written from (1e-5, not 9.99999974737875e-6).
        double D(string key, double fallback) => f.Metadata.TryGetValue(key, out var v)
            ? v is double d ? double.Parse(((float)d).ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture)
                : throw new GgufFormatException(path, $"metadata '{key}' is not a number")
            : fallback;
        var tokenizer = ReadTokenizer(f);
        RopeScaling? scaling = null;
        if (f.Find<string>($"{arch}.rope.scaling.type") is { } scalingType)
            scaling = scalingType == "linear" ? new RopeScaling { RopeType = "linear", Factor = D($"{arch}.rope.scaling.factor", 1) }
                : throw new GgufFormatException(path, $"{arch}.rope.scaling.type '{scalingType}' is not supported (linear)");
        var config = new LlamaConfig
        {
            ModelType = arch, QkvBias = arch == "qwen2",
            VocabSize = tokenizer.VocabSize, HiddenSize = U($"{arch}.embedding_length"), IntermediateSize = U($"{arch}.feed_forward_length"),
            NumLayers = U($"{arch}.block_count"), NumHeads = U($"{arch}.attention.head_count"),
            NumKvHeads = f.Metadata.ContainsKey($"{arch}.attention.head_count_kv") ? U($"{arch}.attention.head_count_kv") : U($"{arch}.attention.head_count"),
            MaxPositions = Math.Min(U($"{arch}.context_length"), LlamaConfig.MaxContext), RopeTheta = D($"{arch}.rope.freq_base", 10000),
            RmsNormEps = D($"{arch}.attention.layer_norm_rms_epsilon", 1e-5), TieWordEmbeddings = f.Tensors.All(t => t.Name != "output.weight"),
            BosTokenId = f.FindInteger("tokenizer.ggml.bos_token_id") is { } bos ? (int)bos : null,
            EosTokenId = f.FindInteger("tokenizer.ggml.eos_token_id") is { } eos ? (int)eos : null,
            RopeScaling = scaling,
        };
        try { config.Validate(); }
        catch (ArgumentException e) { throw new GgufFormatException(path, e.Message); }
        if (f.FindInteger($"{arch}.rope.dimension_count") is { } rope && rope != config.HeadDim)
            throw new GgufFormatException(path, $"{arch}.rope.dimension_count {rope} is not the head size {config.HeadDim} (partial rotary embeddings are not supported)");
        var used = new HashSet<string>();
        if (f.Tensors.Any(t => t.Name == "rope_freqs.weight"))
        {
            // Per-frequency rope factors (Llama 3.1's bands): taken when they are what GenSharp's own key says they are.
            RopeScaling? llama3 = null;
            try { llama3 = f.Find<string>(RopeScalingKey) is { } json ? System.Text.Json.JsonSerializer.Deserialize<RopeScaling>(json) : null; }
            catch (System.Text.Json.JsonException) { }
            var factors = f.ReadFloats(f.Tensor("rope_freqs.weight"));
            if (llama3 is not { Kind: "llama3" } || RopeFreqFactors(config, llama3) is var expected && expected.Length != factors.Length
                || expected.Zip(factors).Any(p => Math.Abs(p.First - p.Second) > 1e-6 * Math.Abs(p.First)))
                throw new GgufFormatException(path, "tensor 'rope_freqs.weight' (per-frequency rope factors) is only read with the llama3 rope_scaling GenSharp writes beside it");
            config = config with { RopeScaling = llama3 };
            used.Add("rope_freqs.weight");
        }
        using var model = new LlamaForCausalLM(config);
        using (no_grad())
            foreach (var (name, parameter) in model.state_dict())
            {
                if (name == "lm_head.weight" && config.TieWordEmbeddings) continue;
                var (ggufName, permuteHeads) = GgufName(name, config);
                var t = f.Tensor(ggufName);
                long[] expected = [.. parameter.shape.Reverse()];
                if (!t.Dims.SequenceEqual(expected))
                    throw new GgufFormatException(path, $"tensor '{ggufName}' is [{string.Join(", ", t.Dims)}], the config needs [{string.Join(", ", expected)}]");
                using var values = tensor(f.ReadFloats(t)).reshape(parameter.shape);
                using var hf = permuteHeads is { } heads ? FromInterleavedRope(values, heads) : values.alias();
                parameter.copy_(hf);
                used.Add(ggufName);
            }
        if (f.Tensors.FirstOrDefault(t => !used.Contains(t.Name)) is { } extra)
            throw new GgufFormatException(path, $"tensor '{extra.Name}' has no place in a GenSharp Llama (the file may need features GenSharp lacks)");
        if (f.Find<string>("tokenizer.chat_template") is { } jinja)   // the file's template, with the texts of its BOS and EOS tokens
        {
            string Text(string key) => f.FindInteger(key) is { } id && id >= 0 && id < tokenizer.VocabSize
                ? Encoding.UTF8.GetString(tokenizer.DecodeBytes([(int)id])) : "";
            ChatTemplate.FromJinja(jinja, Text("tokenizer.ggml.bos_token_id"), Text("tokenizer.ggml.eos_token_id"), path);   // refuse one that does not parse
            Directory.CreateDirectory(modelDir);
            AtomicFile.WriteAllText(Path.Combine(modelDir, "tokenizer_config.json"), System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["chat_template"] = jinja, ["bos_token"] = Text("tokenizer.ggml.bos_token_id"), ["eos_token"] = Text("tokenizer.ggml.eos_token_id"),
            }));
        }
        ModelDirectory.Save(modelDir, model, tokenizer, $"""
            ---
            library_name: gensharp
            tags: [llama, gguf-import]
            ---
            # {Path.GetFileNameWithoutExtension(path)}

            Imported from `{Path.GetFileName(path)}` (GGUF v{f.Version}; tensors {string.Join(", ", f.Tensors.GroupBy(t => t.Type).Select(g => $"{g.Count()} {g.Key}"))}, decoded to fp32) by `gensharp import`.
            {config.NumLayers} layers × {config.HiddenSize}, {config.NumHeads} heads ({config.NumKvHeads} key/value), vocabulary {config.VocabSize}, context {config.MaxPositions}.

            """);
        return (config, tokenizer);
    }

    static ITokenizer ReadTokenizer(GgufFile f)
    {
        var model = f.Get<string>("tokenizer.ggml.model");
        if (model == "llama") return ReadSentencePiece(f);
        if (model != "gpt2") throw new GgufFormatException(f.Path, $"tokenizer model '{model}' is not supported (supported: gpt2, byte-level BPE; llama, SentencePiece BPE)");
        var pre = f.Find<string>("tokenizer.ggml.pre") ?? "default";
        var splitter = PreTokenizer.FromLlamaCppName(pre)
            ?? throw new GgufFormatException(f.Path, $"pre-tokenizer '{pre}' is not supported (supported: gpt-2, llama-bpe, qwen2)");
        var tokens = f.Get<string[]>("tokenizer.ggml.tokens");
        var merges = f.Find<string[]>("tokenizer.ggml.merges") ?? [];
        var types = f.Find<long[]>("tokenizer.ggml.token_type");
        if (types is not null && types.Length != tokens.Length)
            throw new GgufFormatException(f.Path, $"tokenizer.ggml.token_type has {types.Length} entries for {tokens.Length} tokens");
        var specials = new Dictionary<string, int>();
        for (int i = 0; types is not null && i < types.Length; i++)
            if (types[i] == 3) specials[tokens[i]] = i;
        var unicode = new Dictionary<char, byte>();
        for (int b = 0; b < 256; b++) unicode[ByteLevelBpeTokenizer.ByteToChar[b]] = (byte)b;
        string? Character(string symbols)   // the text a token of byte symbols stands for, when it is exactly one character
        {
            if (symbols.Any(ch => !unicode.ContainsKey(ch))) return null;
            try
            {
                var text = new UTF8Encoding(false, true).GetString([.. symbols.Select(ch => unicode[ch])]);
                return text.EnumerateRunes().Count() == 1 ? text : null;
            }
            catch (DecoderFallbackException) { return null; }
        }
        try
        {
            var chars = tokens.Select(Character).ToList();
            // Every token one whole character (a byte-level BPE has lone bytes ≥ 0x80, which are not): GenSharp's char vocabulary.
            if (specials.Count == 0 && chars.All(c => c is not null) && splitter == PreTokenizer.Gpt2) return new CharTokenizer(chars.Select(c => c!));
            var pairs = merges.Select((m, i) => m.IndexOf(' ') is var sp && sp > 0 && sp < m.Length - 1 ? (m[..sp], m[(sp + 1)..])
                : throw new GgufFormatException(f.Path, $"tokenizer.ggml.merges[{i}] '{m}' is not two symbols")).ToList();
            return new ByteLevelBpeTokenizer(tokens, pairs, specials, splitter, ignoreMerges: splitter == PreTokenizer.Llama3);
        }
        catch (ArgumentException e) { throw new GgufFormatException(f.Path, $"the tokenizer cannot be read: {e.Message}"); }
    }

    /// <summary>
    /// llama.cpp's "llama" tokenizer model (SentencePiece BPE: pieces with scores) as GenSharp's SentencePiece-style BPE:
    /// merges are every split of a piece into two pieces, ranked by the piece's score (highest first) — the rule
    /// transformers' converter uses, and the order llama.cpp's score-driven merging follows.
    /// </summary>
    static SentencePieceBpeTokenizer ReadSentencePiece(GgufFile f)
    {
        var tokens = f.Get<string[]>("tokenizer.ggml.tokens");
        var scores = f.Find<double[]>("tokenizer.ggml.scores") ?? throw new GgufFormatException(f.Path, "a 'llama' tokenizer without tokenizer.ggml.scores");
        var types = f.Find<long[]>("tokenizer.ggml.token_type") ?? throw new GgufFormatException(f.Path, "a 'llama' tokenizer without tokenizer.ggml.token_type");
        if (scores.Length != tokens.Length || types.Length != tokens.Length)
            throw new GgufFormatException(f.Path, $"tokenizer.ggml.scores ({scores.Length}) and token_type ({types.Length}) must have one entry per token ({tokens.Length})");
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++) ids.TryAdd(tokens[i], i);
        var merges = new List<(double Score, int L, int R, string A, string B)>();
        for (int i = 0; i < tokens.Length; i++)
        {
            if (types[i] != 1) continue;
            var t = tokens[i];
            for (int k = 1; k < t.Length; k++)
                if (!char.IsLowSurrogate(t[k]) && ids.TryGetValue(t[..k], out int l) && ids.TryGetValue(t[k..], out int r) && types[l] == 1 && types[r] == 1)
                    merges.Add((scores[i], l, r, t[..k], t[k..]));
        }
        var ordered = merges.OrderByDescending(m => m.Score).ThenBy(m => m.L).ThenBy(m => m.R).Select(m => (m.A, m.B)).ToList();
        var specials = Enumerable.Range(0, tokens.Length).Where(i => types[i] == 3).ToDictionary(i => tokens[i], i => i);
        int? unk = f.FindInteger("tokenizer.ggml.unknown_token_id") is { } u ? (int)u : Array.IndexOf(types, 2L) is var x && x >= 0 ? x : null;
        bool fallback = Enumerable.Range(0, 256).All(b => ids.ContainsKey($"<0x{b:X2}>"));
        bool prefix = f.Metadata.TryGetValue("tokenizer.ggml.add_space_prefix", out var p) ? p is true : true;
        bool addBos = f.Metadata.TryGetValue("tokenizer.ggml.add_bos_token", out var ab) ? ab is true : true;
        try
        {
            return new SentencePieceBpeTokenizer(tokens, ordered, specials, unk, fallback,
                prefix ? SentencePieceBpeTokenizer.Prefix.Always : SentencePieceBpeTokenizer.Prefix.Never, splitOnSpace: false)
            {
                PromptPrefix = addBos && f.FindInteger("tokenizer.ggml.bos_token_id") is { } bos && bos >= 0 && bos < tokens.Length ? [(int)bos] : [],
            };
        }
        catch (ArgumentException e) { throw new GgufFormatException(f.Path, $"the tokenizer cannot be read: {e.Message}"); }
    }

    // HF name → llama.cpp name, and the head count when q/k rows must be permuted (llama's interleaved rope; qwen2's is
    // rotate-half in llama.cpp too, so its rows stay as they are).
    static (string Name, int? PermuteHeads) GgufName(string name, LlamaConfig c)
    {
        bool permute = c.ModelType != "qwen2";
        if (name == "model.embed_tokens.weight") return ("token_embd.weight", null);
        if (name == "model.norm.weight") return ("output_norm.weight", null);
        if (name == "lm_head.weight") return ("output.weight", null);
        var parts = name.Split('.');   // model.layers.N.<module>.<proj>.weight
        if (parts.Length >= 5 && parts[0] == "model" && parts[1] == "layers" && int.TryParse(parts[2], out int layer))
        {
            var rest = string.Join('.', parts[3..]);
            return rest switch
            {
                "input_layernorm.weight" => ($"blk.{layer}.attn_norm.weight", null),
                "post_attention_layernorm.weight" => ($"blk.{layer}.ffn_norm.weight", null),
                "self_attn.q_proj.weight" => ($"blk.{layer}.attn_q.weight", permute ? c.NumHeads : null),
                "self_attn.k_proj.weight" => ($"blk.{layer}.attn_k.weight", permute ? c.NumKvHeads : null),
                "self_attn.v_proj.weight" => ($"blk.{layer}.attn_v.weight", null),
                "self_attn.q_proj.bias" => ($"blk.{layer}.attn_q.bias", null),   // Qwen2's
                "self_attn.k_proj.bias" => ($"blk.{layer}.attn_k.bias", null),
                "self_attn.v_proj.bias" => ($"blk.{layer}.attn_v.bias", null),
                "self_attn.o_proj.weight" => ($"blk.{layer}.attn_output.weight", null),
                "mlp.gate_proj.weight" => ($"blk.{layer}.ffn_gate.weight", null),
                "mlp.up_proj.weight" => ($"blk.{layer}.ffn_up.weight", null),
                "mlp.down_proj.weight" => ($"blk.{layer}.ffn_down.weight", null),
                _ => throw new InvalidDataException($"tensor '{name}' has no GGUF name (GGUF export covers the Llama decoder)"),
            };
        }
        throw new InvalidDataException($"tensor '{name}' has no GGUF name (GGUF export covers the Llama decoder)");
    }

    // HF keeps each head's rotary pairs as (i, i + d/2); GGML's llama rope pairs (2i, 2i + 1). Row r = h·d + j of q or k moves
    // so that the two halves interleave: reshape (heads, 2, d/2, in) → swap the middle axes → back.
    static Tensor ToInterleavedRope(Tensor w, int heads) =>
        w.reshape(heads, 2, w.shape[0] / heads / 2, w.shape[1]).transpose(1, 2).reshape(w.shape[0], w.shape[1]).contiguous();

    static Tensor FromInterleavedRope(Tensor w, int heads) =>
        w.reshape(heads, w.shape[0] / heads / 2, 2, w.shape[1]).transpose(1, 2).reshape(w.shape[0], w.shape[1]).contiguous();

    /// <summary>
    /// llama.cpp's rope_freqs for a llama3 rope_scaling (Llama 3.1's bands): per frequency θ^(−2i/d), the factor llama.cpp
    /// divides it by — unscaled / scaled.
    /// </summary>
    static float[] RopeFreqFactors(LlamaConfig c, RopeScaling scaling)
    {
        var inv = Enumerable.Range(0, c.HeadDim / 2).Select(i => Math.Pow(c.RopeTheta, -2.0 * i / c.HeadDim)).ToArray();
        return [.. inv.Zip(scaling.Apply(inv), (a, b) => (float)(a / b))];
    }

    /// <summary>GenSharp's own key: a llama3 rope_scaling as JSON, beside the rope_freqs llama.cpp reads.</summary>
    const string RopeScalingKey = "gensharp.rope_scaling";

    static void WriteTokenizer(GgufWriter w, ITokenizer tokenizer, LlamaConfig c)
    {
        if (tokenizer is SentencePieceBpeTokenizer spm) { WriteSentencePiece(w, spm, c); return; }
        List<string> tokens;
        var merges = new List<string>();
        string pre = "gpt-2";
        switch (tokenizer)
        {
            case ByteLevelBpeTokenizer bpe:
                pre = bpe.Splitter.LlamaCppName ?? throw new ArgumentException($"llama.cpp has no pre-tokenizer for this tokenizer's pattern ({bpe.Splitter.Pattern})");
                if (bpe.IgnoreMerges != (pre == "llama-bpe"))   // llama.cpp ignores merges exactly for Llama 3's pre-tokenizer
                    throw new ArgumentException($"llama.cpp's '{pre}' tokenizer {(pre == "llama-bpe" ? "ignores" : "applies")} merges for whole-vocabulary pieces; this tokenizer does not");
                tokens = [.. bpe.Tokens];
                merges.AddRange(bpe.MergeList.Select(m => $"{m.A} {m.B}"));
                break;
            case CharTokenizer chars:
                tokens = [.. chars.Tokens.Select(ByteSymbols)];
                foreach (var t in chars.Tokens)   // a multi-byte character: merge its byte symbols left to right
                {
                    var symbols = Encoding.UTF8.GetBytes(t).Select(b => ByteLevelBpeTokenizer.ByteToChar[b].ToString()).ToList();
                    for (int i = 1; i < symbols.Count; i++) merges.Add($"{string.Concat(symbols.Take(i))} {symbols[i]}");
                }
                break;
            default: throw new ArgumentException($"{tokenizer.GetType().Name} cannot be written to GGUF");
        }
        if (!tokens.Contains(ByteSymbols("\n")))
            throw new InvalidDataException("the vocabulary has no newline token, which llama.cpp requires of a GPT-2-style vocabulary");
        var types = Enumerable.Repeat(1, tokens.Count).ToArray();   // llama_token_type: 1 normal, 3 control
        foreach (var (_, id) in tokenizer.SpecialTokens) types[id] = 3;
        w.Set("tokenizer.ggml.model", "gpt2")
         .Set("tokenizer.ggml.pre", pre)   // llama.cpp's name for the pre-tokenizer regex: gpt-2, llama-bpe, qwen2
         .Set("tokenizer.ggml.tokens", tokens)
         .Set("tokenizer.ggml.token_type", types)
         .Set("tokenizer.ggml.merges", merges)
         .Set("tokenizer.ggml.add_eos_token", false);
        WriteSpecialIds(w, tokenizer, c);
    }

    // BOS/EOS ids, and whether a prompt starts with BOS (the tokenizer's post-processor, as llama.cpp's add_bos_token).
    static void WriteSpecialIds(GgufWriter w, ITokenizer tokenizer, LlamaConfig c)
    {
        int? bos = c.BosTokenId ?? (tokenizer.PromptPrefix is [var first] ? first : null);
        if (tokenizer.PromptPrefix.Length > 1 || tokenizer.PromptPrefix is [var p] && p != bos)
            throw new ArgumentException($"the tokenizer puts [{string.Join(", ", tokenizer.PromptPrefix)}] before a prompt; GGUF can say only 'BOS ({bos})'");
        w.Set("tokenizer.ggml.add_bos_token", tokenizer.PromptPrefix.Length == 1);
        if (bos is { } b) w.Set("tokenizer.ggml.bos_token_id", (uint)b);
        if (c.EosTokenId is { } eos) w.Set("tokenizer.ggml.eos_token_id", (uint)eos);
    }

    /// <summary>
    /// SentencePiece-style BPE as llama.cpp's "llama" tokenizer model, which merges by score, highest first: a piece's score
    /// is minus the rank of the first merge that makes it, so its order of merges is the file's. llama.cpp puts the '▁'
    /// prefix before the text and after each special token — the legacy form; a Metaspace "first" tokenizer would differ after
    /// special tokens, so it is refused. Token types: 2 unknown, 3 control (special), 6 byte (&lt;0xXX&gt;), 1 normal.
    /// </summary>
    static void WriteSentencePiece(GgufWriter w, SentencePieceBpeTokenizer spm, LlamaConfig c)
    {
        if (spm.SplitOnSpace || spm.PrefixScheme == SentencePieceBpeTokenizer.Prefix.First)
            throw new ArgumentException("llama.cpp's SentencePiece tokenizer prefixes '▁' after every special token and merges across spaces; this tokenizer (Metaspace first or split) does not");
        var scores = new float[spm.VocabSize];
        Array.Fill(scores, float.NegativeInfinity);
        var ids = spm.Tokens.Select((t, i) => (t, i)).GroupBy(x => x.t).ToDictionary(g => g.Key, g => g.First().i);
        for (int rank = spm.MergeList.Count - 1; rank >= 0; rank--) scores[ids[spm.MergeList[rank].A + spm.MergeList[rank].B]] = -rank;
        for (int i = 0; i < scores.Length; i++) if (float.IsNegativeInfinity(scores[i])) scores[i] = -spm.MergeList.Count - i;   // never made by a merge
        var types = new int[spm.VocabSize];
        for (int i = 0; i < types.Length; i++)
            types[i] = spm.SpecialTokens.Values.Contains(i) ? 3 : i == spm.UnkId ? 2 : spm.Tokens[i] is { Length: 6 } t && t.StartsWith("<0x") && t.EndsWith('>') ? 6 : 1;
        if (spm.UnkId is { } unk) types[unk] = 2;
        w.Set("tokenizer.ggml.model", "llama")
         .Set("tokenizer.ggml.tokens", spm.Tokens.ToList())
         .Set("tokenizer.ggml.scores", scores)
         .Set("tokenizer.ggml.token_type", types)
         .Set("tokenizer.ggml.add_space_prefix", spm.PrefixScheme == SentencePieceBpeTokenizer.Prefix.Always)
         .Set("tokenizer.ggml.add_eos_token", false);
        if (spm.UnkId is { } u) w.Set("tokenizer.ggml.unknown_token_id", (uint)u);
        WriteSpecialIds(w, spm, c);
    }

    static string ByteSymbols(string text) => string.Concat(Encoding.UTF8.GetBytes(text).Select(b => ByteLevelBpeTokenizer.ByteToChar[b]));
}
