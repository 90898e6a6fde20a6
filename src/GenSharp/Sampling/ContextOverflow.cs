namespace GenSharp.Sampling;

/// <summary>What to do when a sequence reaches the model's context length.</summary>
public enum ContextOverflow
{
    Stop,    // finish with reason "length" (OpenAI semantics)
    Slide,   // keep the newest half of the context, re-encode it at positions 0…, and go on (llama.cpp's context shift)
}
