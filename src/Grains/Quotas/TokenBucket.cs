namespace Shohayota.Grains.Quotas;

/// <summary>A token bucket: <c>rate</c> tokens per second up to <c>burst</c>; one request takes one token.</summary>
public sealed class TokenBucket(double rate, double burst, long startTimestamp)
{
    private double _tokens = burst;
    private long _last = startTimestamp;

    public double Rate { get; private set; } = rate;

    public double Burst { get; private set; } = burst;

    public void Reconfigure(double rate, double burst)
    {
        Rate = rate;
        Burst = burst;
        _tokens = Math.Min(_tokens, burst);
    }

    /// <summary>Takes a token, or says how long until one is available.</summary>
    public bool TryTake(long timestamp, long ticksPerSecond, out TimeSpan retryAfter)
    {
        var elapsed = Math.Max(0, timestamp - _last) / (double)ticksPerSecond;
        _last = timestamp;
        _tokens = Math.Min(Burst, _tokens + (elapsed * Rate));
        if (_tokens >= 1)
        {
            _tokens -= 1;
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = Rate <= 0 ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds((1 - _tokens) / Rate);
        return false;
    }
}
