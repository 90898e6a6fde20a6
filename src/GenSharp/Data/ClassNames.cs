namespace GenSharp.Data;

/// <summary>Resolves a class the user typed against a model's or data set's class names.</summary>
public static class ClassNames
{
    /// <summary>Exact name (any case), then Fashion-MNIST aliases when the names are Fashion-MNIST's, then an index.</summary>
    public static int Index(IReadOnlyList<string> names, string name)
    {
        var key = name.Trim();
        int exact = names.ToList().FindIndex(x => x.Equals(key, StringComparison.OrdinalIgnoreCase));
        if (exact >= 0) return exact;
        if (names.SequenceEqual(FashionMnist.ClassNames)) return FashionMnist.ClassIndex(key);
        if (int.TryParse(key, out int i) && i >= 0 && i < names.Count) return i;
        throw new ArgumentException($"unknown class '{name}'; known classes: {string.Join(", ", names)}");
    }
}
