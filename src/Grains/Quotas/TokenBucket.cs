namespace Shohayota.Grains.Quotas;

/// <summary>
/// A token bucket: <c>rate</c> tokens per second up to <c>burst</c>; one request takes one token. Tokens leased to front
/// ends (<see cref="Held"/>) still count against the burst until they are reported spent or given back, so the bucket and
/// every node's lease together never hold more than <c>burst</c>: the limit holds cluster-wide.
/// </summary>
public sealed class TokenBucket(double rate, double burst, long startTimestamp)
{
    private double _tokens = burst;
    private long _last = startTimestamp;

    public double Rate { get; private set; } = rate;

    public double Burst { get; private set; } = burst;

    /// <summary>Tokens out on lease: taken from the bucket, not yet reported spent or given back.</summary>
    public long Held { get; private set; }

    public void Reconfigure(double rate, double burst)
    {
        Rate = rate;
        Burst = burst;
        _tokens = Math.Min(_tokens, Room);
    }

    /// <summary>Takes a token, or says how long until one is available.</summary>
    public bool TryTake(long timestamp, long ticksPerSecond, out TimeSpan retryAfter) => TakeUpTo(1, timestamp, ticksPerSecond, out retryAfter, lease: false) == 1;

    /// <summary>Takes up to <paramref name="max"/> whole tokens (held on lease when <paramref name="lease"/>), or says how long until one is available.</summary>
    public int TakeUpTo(int max, long timestamp, long ticksPerSecond, out TimeSpan retryAfter, bool lease = true)
    {
        var elapsed = Math.Max(0, timestamp - _last) / (double)ticksPerSecond;
        _last = timestamp;
        _tokens = Math.Min(Room, _tokens + (elapsed * Rate));
        var taken = (int)Math.Min(max, Math.Floor(_tokens));
        if (taken >= 1)
        {
            _tokens -= taken;
            Held += lease ? taken : 0;
            retryAfter = TimeSpan.Zero;
            return taken;
        }

        retryAfter = Rate <= 0 ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds((1 - _tokens) / Rate);
        return 0;
    }

    /// <summary>A lease's report: <paramref name="spent"/> tokens were used, <paramref name="unused"/> come back into the bucket.</summary>
    public void Return(long spent, long unused)
    {
        Held = Math.Max(0, Held - spent - unused);
        _tokens = Math.Min(Room, _tokens + unused);
    }

    /// <summary>A lease that was never reported (its node died): its tokens are gone, its room in the burst comes back.</summary>
    public void Forget(long held) => Held = Math.Max(0, Held - held);

    private double Room => Math.Max(0, Burst - Held);
}
