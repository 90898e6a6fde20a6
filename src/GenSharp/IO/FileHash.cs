using System.Security.Cryptography;

namespace GenSharp.IO;

/// <summary>The SHA-256 of a file's bytes, as uppercase hex: how checkpoints and the token cache pin their files.</summary>
public static class FileHash
{
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
