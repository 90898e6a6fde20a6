namespace GenSharp.Rag.Vectors;

/// <summary>The k highest scores seen, kept in a min-heap: O(log k) per candidate that enters, O(1) per one that does not.</summary>
internal sealed class TopK(int k)
{
    readonly PriorityQueue<long, float> _heap = new(k + 1);

    public float Threshold => _heap.Count < k ? float.NegativeInfinity : _heap.TryPeek(out _, out var s) ? s : float.NegativeInfinity;

    public void Offer(long id, float score)
    {
        if (_heap.Count < k) _heap.Enqueue(id, score);
        else if (score > Threshold) _heap.EnqueueDequeue(id, score);
    }

    /// <summary>The kept ids, best first (ties in no particular order).</summary>
    public List<(long Id, float Score)> Best()
    {
        var all = new List<(long, float)>(_heap.Count);
        while (_heap.TryDequeue(out var id, out var s)) all.Add((id, s));
        all.Reverse();
        return all;
    }
}
