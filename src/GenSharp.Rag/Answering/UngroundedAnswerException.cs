namespace GenSharp.Rag.Answering;

/// <summary>A generated answer whose citations point outside the sources it was given; the text is kept for inspection.</summary>
public sealed class UngroundedAnswerException(string message, string answer) : Exception(message)
{
    public string Answer => answer;
}
