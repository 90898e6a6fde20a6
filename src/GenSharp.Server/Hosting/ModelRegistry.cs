using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Server.Hosting;

/// <summary>The models a server has loaded, by name (the directory's name): language models and image models.</summary>
public sealed class ModelRegistry : IDisposable
{
    readonly Dictionary<string, LanguageModelWorker> _lms = new(StringComparer.Ordinal);
    readonly Dictionary<string, ImageModelHost> _images = new(StringComparer.Ordinal);

    public ModelRegistry(IEnumerable<string> dirs, Device device, int maxBatch, int maxQueue)
    {
        foreach (var dir in dirs)
        {
            var name = Path.GetFileName(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar));
            if (_lms.ContainsKey(name) || _images.ContainsKey(name))
                throw new ArgumentException($"two models are named '{name}' (the directory name); rename one directory");
            switch (AutoPipeline.Kind(dir))
            {
                case ModelKind.Image:
                    _images[name] = new ImageModelHost(name, AutoPipeline.OpenImages(dir, device), maxQueue);
                    break;
                case ModelKind.Language:
                    var chat = AutoPipeline.OpenChat(dir, device);
                    _lms[name] = new LanguageModelWorker(name, chat.Text.Model, chat.Text.Tokenizer, chat.Template, maxBatch, maxQueue);
                    break;
                default:
                    throw new ArgumentException($"{dir}: a classifier cannot be served (serve language and image models)");
            }
        }
        if (_lms.Count + _images.Count == 0) throw new ArgumentException("no models to serve; pass --models DIR");
    }

    public IReadOnlyCollection<LanguageModelWorker> LanguageModels => _lms.Values;
    public IReadOnlyCollection<ImageModelHost> ImageModels => _images.Values;

    public LanguageModelWorker? FindLanguageModel(string name) => _lms.GetValueOrDefault(name);
    public ImageModelHost? FindImageModel(string name) => _images.GetValueOrDefault(name);

    public void Dispose()
    {
        foreach (var w in _lms.Values) w.Dispose();
    }
}
