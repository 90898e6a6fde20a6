namespace GenSharp.Server.Hosting;

/// <summary>The bounded queue is full: the caller should answer 429 and retry later.</summary>
public sealed class ServerBusyException(string message) : Exception(message);

