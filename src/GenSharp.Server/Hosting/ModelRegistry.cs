using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Server.Hosting;

/// <summary>A served language model id: the worker decoding for it and the LoRA adapter slot it uses (−1: the base model).</summary>
public sealed record LanguageModelRoute(string Name, LanguageModelWorker Worker, int Adapter, string? Base);

/// <summary>
/// The models a server has loaded, by name (the directory's name): language models, image models, LoRA adapters —
/// each adapter its own model id on its base's one copy of the weights, decoded in the same batches (multi-LoRA) —
/// and reward models, which rank best_of candidates.
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    readonly Dictionary<string, LanguageModelWorker> _lms = new(StringComparer.Ordinal);
    readonly Dictionary<string, ImageModelHost> _images = new(StringComparer.Ordinal);
    readonly Dictionary<string, LanguageModelRoute> _adapters = new(StringComparer.Ordinal);
    readonly Dictionary<string, RewardModelHost> _rewards = new(StringComparer.Ordinal);

    /// <param name="adapters">Served LoRA adapters as (model id, adapter directory); each attaches to the served language model its
    /// adapter_config.json names as base (or the only one).</param>
    /// <param name="kernels">How language models decode (<see cref="GenerationEngine"/>): GenSharp's kernels by default, int8 on request.</param>
    /// <param name="streamInterval">How long streamed tokens may wait to go out together (<see cref="LanguageModelWorker.StreamInterval"/>).</param>
    public ModelRegistry(IEnumerable<string> dirs, Device device, int maxBatch, int maxQueue, IReadOnlyList<(string Name, string Dir)>? adapters = null,
        DecodeKernelOptions? kernels = null, TimeSpan? streamInterval = null)
    {
        var chats = new Dictionary<string, (string Dir, ChatPipeline Chat)>(StringComparer.Ordinal);
        foreach (var dir in dirs)
        {
            var name = Path.GetFileName(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar));
            if (_lms.ContainsKey(name) || _images.ContainsKey(name) || _rewards.ContainsKey(name))
                throw new ArgumentException($"two models are named '{name}' (the directory name); rename one directory");
            var kind = AutoPipeline.Kind(dir);
            switch (kind)
            {
                case ModelKind.Image:
                    _images[name] = new ImageModelHost(name, AutoPipeline.OpenImages(dir, device), maxQueue);
                    break;
                case ModelKind.Language:
                    chats[name] = (dir, AutoPipeline.OpenChat(dir, device));
                    _lms[name] = null!;   // the name is taken; the worker starts once its adapters are attached
                    break;
                case ModelKind.Reward:
                    _rewards[name] = new RewardModelHost(name, AutoPipeline.OpenReward(dir, device));
                    break;
                default:
                    throw new ArgumentException($"{dir}: holds a {kind.ToString().ToLowerInvariant()} model, which is not served (serve language, reward and image models)");
            }
        }
        var slots = new List<(string Name, string Base, int Slot)>();
        foreach (var (adapterName, adapterDir) in adapters ?? [])
        {
            if (_lms.ContainsKey(adapterName) || _images.ContainsKey(adapterName) || _rewards.ContainsKey(adapterName) || slots.Any(s => s.Name == adapterName))
                throw new ArgumentException($"--adapter {adapterName}: that model id is taken");
            var baseName = BaseOf(adapterDir, chats);
            slots.Add((adapterName, baseName, LoraAdapter.Serve(adapterDir, adapterName, chats[baseName].Chat.Text.Model)));
        }
        foreach (var (name, (dir, chat)) in chats)
            _lms[name] = new LanguageModelWorker(name, chat.Text.Model, chat.Text.Tokenizer, chat.Template, maxBatch, maxQueue, kernels) { Defaults = GenerationDefaults.Load(dir), StreamInterval = streamInterval ?? LanguageModelWorker.DefaultStreamInterval };
        foreach (var (name, baseName, slot) in slots) _adapters[name] = new LanguageModelRoute(name, _lms[baseName], slot, baseName);
        if (_lms.Count + _images.Count == 0) throw new ArgumentException("no models to serve; pass --models DIR");
    }

    // The served language model an adapter belongs to: the one its adapter_config.json names, else the only one.
    static string BaseOf(string adapterDir, Dictionary<string, (string Dir, ChatPipeline Chat)> chats)
    {
        var (_, named) = LoraAdapter.ReadConfig(adapterDir);
        if (named is not null)
            foreach (var (name, (dir, _)) in chats)
                if (Path.GetFullPath(dir).TrimEnd('/') == Path.GetFullPath(named).TrimEnd('/') || name == Path.GetFileName(named.TrimEnd('/'))) return name;
        return chats.Count == 1 ? chats.Keys.Single()
            : throw new ArgumentException($"{adapterDir}: its base model ({named ?? "not named"}) is not among the served language models ({string.Join(", ", chats.Keys)})");
    }

    /// <summary>Served adapters, by model id.</summary>
    public IReadOnlyCollection<LanguageModelRoute> Adapters => _adapters.Values;

    /// <summary>A language model id — a base model or an adapter — with its worker and adapter slot.</summary>
    public LanguageModelRoute? FindRoute(string name) =>
        _lms.TryGetValue(name, out var w) ? new LanguageModelRoute(name, w, -1, null) : _adapters.GetValueOrDefault(name);

    public IReadOnlyCollection<LanguageModelWorker> LanguageModels => _lms.Values;
    public IReadOnlyCollection<ImageModelHost> ImageModels => _images.Values;

    public LanguageModelWorker? FindLanguageModel(string name) => _lms.GetValueOrDefault(name);
    public ImageModelHost? FindImageModel(string name) => _images.GetValueOrDefault(name);
    public IReadOnlyCollection<RewardModelHost> RewardModels => _rewards.Values;
    public RewardModelHost? FindRewardModel(string name) => _rewards.GetValueOrDefault(name);

    public void Dispose()
    {
        foreach (var w in _lms.Values) w.Dispose();
        foreach (var r in _rewards.Values) r.Dispose();
    }
}
