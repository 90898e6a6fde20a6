using System.Security.Cryptography;
using GenSharp.Rag.Chunking;
using GenSharp.Rag.Index;
using GenSharp.Rag.Loaders;

namespace GenSharp.Rag.Ingest;

/// <summary>
/// Files and directories into the index, in one transaction: a crash or a kill mid-ingest leaves the index as it was.
/// Unchanged files (same SHA-256) are skipped, changed ones replaced, files gone from under an ingested directory
/// removed. Symbolic links are followed only while they stay inside the root they were found under; a link that
/// leaves it, a directory loop, a file over the size cap or one a loader refuses is skipped with the reason, and a file
/// already indexed keeps its chunks when it becomes unreadable — bad input never loses data.
/// </summary>
public static class Ingestor
{
    public static readonly IReadOnlyList<IDocumentLoader> DefaultLoaders =
        [new MarkdownLoader(), new PlainTextLoader(), new HtmlLoader(), new PdfLoader(), new ManPageLoader()];

    /// <summary>
    /// The callback gets (files done, files found, the file being read). With <paramref name="embedder"/>, every new chunk
    /// gets its vector in the same transaction (an index that has vectors needs one: its new chunks would be invisible to dense search).
    /// </summary>
    public static IngestSummary Ingest(IRagStore index, IReadOnlyList<string> roots, IngestOptions options,
        Action<int, int, string>? progress = null, IReadOnlyList<IDocumentLoader>? loaders = null, CancellationToken cancel = default,
        Retrieval.IndexEmbedder? embedder = null)
    {
        options.Validate();
        loaders ??= DefaultLoaders;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var skipped = new List<(string, string)>();
        var unsupported = new SortedDictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var files = new List<(string Path, IDocumentLoader Loader)>();
        var walkedDirectories = new List<string>();
        foreach (var root in roots)
        {
            var full = Path.GetFullPath(root);
            if (File.Exists(full)) Consider(full, loaders, files, unsupported, skipped, explicitFile: true);
            else if (Directory.Exists(full))
            {
                walkedDirectories.Add(full.TrimEnd('/') + "/");
                Walk(full, full, RealPath(full), 0, options.MaxDepth, new HashSet<string>(), loaders, files, unsupported, skipped);
            }
            else throw new FileNotFoundException($"{root}: no such file or directory", root);
        }

        int added = 0, updated = 0, unchanged = 0, removed = 0, chunkCount = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var tx = index.BeginWrite();
        for (int i = 0; i < files.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var (path, loader) = files[i];
            progress?.Invoke(i, files.Count, path);
            seen.Add(path);   // indexed files that fail to read now keep their chunks
            byte[] bytes;
            try
            {
                var info = new FileInfo(path);
                if (info.Length > options.MaxFileBytes) { skipped.Add((path, $"{info.Length:N0} bytes, over the {options.MaxFileBytes:N0}-byte cap")); continue; }
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { skipped.Add((path, $"unreadable: {e.Message}")); continue; }
            var sha = Convert.ToHexString(SHA256.HashData(bytes));
            var existing = tx.Find(options.Collection, options.Tenant, path);
            if (existing?.Sha256 == sha) { unchanged++; continue; }
            LoadedDocument document;
            try { document = loader.Load(path, bytes); }
            catch (Exception e) when (e is InvalidDataException or FormatException or ArgumentException or NotSupportedException)
            {
                skipped.Add((path, $"{loader.Name}: {e.Message}"));
                continue;
            }
            var chunks = Chunker.Split(path, document, options.Chunking);
            if (chunks.Count == 0) { skipped.Add((path, $"{loader.Name}: no text")); continue; }
            if (existing is { } old) { tx.Remove(old.Id); updated++; } else added++;
            tx.Add(options.Collection, options.Tenant, path, sha, bytes.LongLength, loader.Name, document.Title, chunks);
            chunkCount += chunks.Count;
            IngestFaults.FileWritten();
        }
        foreach (var dir in walkedDirectories)
            foreach (var (id, path) in tx.Files(options.Collection, options.Tenant, dir))
                if (!seen.Contains(path) && !File.Exists(path)) { tx.Remove(id); removed++; }
        progress?.Invoke(files.Count, files.Count, "");
        int embedded = embedder is null ? 0 : tx.Embed(embedder, cancel: cancel);
        tx.Commit();
        return new IngestSummary(added, updated, unchanged, removed, chunkCount, skipped, unsupported, started.Elapsed) { Embedded = embedded };
    }

    static void Walk(string dir, string root, string realRoot, int depth, int maxDepth, HashSet<string> visited, IReadOnlyList<IDocumentLoader> loaders,
        List<(string, IDocumentLoader)> files, SortedDictionary<string, int> unsupported, List<(string, string)> skipped)
    {
        var real = RealPath(dir);
        if (!visited.Add(real)) { skipped.Add((dir, "a directory loop (a link back to a directory already read)")); return; }
        IEnumerable<FileSystemInfo> entries;
        try { entries = new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { skipped.Add((dir, $"unreadable directory: {e.Message}")); return; }
        foreach (var entry in entries)
        {
            if (entry.LinkTarget is not null)
            {
                var target = entry.ResolveLinkTarget(returnFinalTarget: true);
                if (target is null || !target.Exists) { skipped.Add((entry.FullName, "a broken symbolic link")); continue; }
                if (!Inside(RealPath(target.FullName), realRoot)) { skipped.Add((entry.FullName, $"a symbolic link out of {root}")); continue; }
            }
            if (entry is DirectoryInfo sub)
            {
                if (depth + 1 > maxDepth) { skipped.Add((sub.FullName, $"deeper than {maxDepth} levels")); continue; }
                Walk(sub.FullName, root, realRoot, depth + 1, maxDepth, visited, loaders, files, unsupported, skipped);
            }
            else Consider(entry.FullName, loaders, files, unsupported, skipped, explicitFile: false);
        }
    }

    static void Consider(string path, IReadOnlyList<IDocumentLoader> loaders, List<(string, IDocumentLoader)> files,
        SortedDictionary<string, int> unsupported, List<(string, string)> skipped, bool explicitFile)
    {
        var loader = loaders.FirstOrDefault(l => l.Handles(path));
        if (loader is not null) { files.Add((path, loader)); return; }
        if (explicitFile) { skipped.Add((path, "no loader reads this type of file")); return; }
        var ext = Path.GetExtension(path) is { Length: > 0 } e ? e.ToLowerInvariant() : "(none)";
        unsupported[ext] = unsupported.GetValueOrDefault(ext) + 1;
    }

    static string RealPath(string path)
    {
        var info = new FileInfo(path);
        var target = info.LinkTarget is null ? null : info.ResolveLinkTarget(true);
        var full = Path.GetFullPath(target?.FullName ?? path);
        // Resolve links in the parents too, one level at a time.
        var parent = Path.GetDirectoryName(full);
        return parent is null || parent == full ? full : Path.Combine(RealPath(parent), Path.GetFileName(full));
    }

    static bool Inside(string path, string root) => path == root || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);
}
