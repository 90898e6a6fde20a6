namespace GenSharp.Sampling;

/// <summary>Why a sequence ended: "stop" (EOS or a stop sequence), "length" (max tokens or context), or cancelled.</summary>
public enum FinishReason { Stop, Length, Cancelled }
