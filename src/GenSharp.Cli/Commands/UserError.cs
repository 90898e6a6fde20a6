namespace GenSharp.Cli.Commands;

/// <summary>A problem with what the user asked for; printed without a stack trace.</summary>
sealed class UserError(string message) : Exception(message);
