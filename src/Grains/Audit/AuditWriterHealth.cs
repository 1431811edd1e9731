namespace Shohayota.Grains.Audit;

/// <summary>This silo's audit writers, for /api/health: last success, pending entries, failures.</summary>
public sealed class AuditWriterHealth
{
    private long _pending;
    private long _written;
    private long _consecutiveFailures;
    private long _lastSuccessTicks;
    private long _lastFailureTicks;

    public long Pending => Interlocked.Read(ref _pending);

    public long Written => Interlocked.Read(ref _written);

    public long ConsecutiveFailures => Interlocked.Read(ref _consecutiveFailures);

    public DateTimeOffset? LastSuccess => Ticks(ref _lastSuccessTicks);

    public DateTimeOffset? LastFailure => Ticks(ref _lastFailureTicks);

    public void Queued(int count) => Interlocked.Add(ref _pending, count);

    /// <summary>Entries of changes a quota refused before they ran: neither written nor failed.</summary>
    public void Withdrawn(int count) => Interlocked.Add(ref _pending, -count);

    public void Succeeded(int count, DateTimeOffset at)
    {
        Interlocked.Add(ref _pending, -count);
        Interlocked.Add(ref _written, count);
        Interlocked.Exchange(ref _consecutiveFailures, 0);
        Interlocked.Exchange(ref _lastSuccessTicks, at.UtcTicks);
    }

    public void Failed(int count, DateTimeOffset at)
    {
        Interlocked.Add(ref _pending, -count);
        Interlocked.Increment(ref _consecutiveFailures);
        Interlocked.Exchange(ref _lastFailureTicks, at.UtcTicks);
    }

    private static DateTimeOffset? Ticks(ref long ticks)
    {
        var value = Interlocked.Read(ref ticks);
        return value == 0 ? null : new DateTimeOffset(value, TimeSpan.Zero);
    }
}
