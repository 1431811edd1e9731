namespace Shohayota.Grains.Quotas;

/// <summary>Log-spaced latency buckets (≈ 12 % wide, 0.1 ms to ~10 min): mergeable counts with bounded error.</summary>
public static class LatencyHistogram
{
    public const int Buckets = 140;
    private const double First = 0.1;
    private const double Growth = 1.12;

    public static int BucketOf(double milliseconds) =>
        milliseconds <= First ? 0 : Math.Min(Buckets - 1, (int)Math.Ceiling(Math.Log(milliseconds / First) / Math.Log(Growth)));

    public static double UpperBound(int bucket) => First * Math.Pow(Growth, bucket);

    /// <summary>The upper bound of the bucket holding the given quantile, or null without samples.</summary>
    public static double? Quantile(long[] counts, double quantile)
    {
        var total = counts.Sum();
        if (total == 0)
        {
            return null;
        }

        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Math.Round(UpperBound(i), 2);
            }
        }

        return Math.Round(UpperBound(counts.Length - 1), 2);
    }
}

/// <summary>Per-minute buckets of the last hour: requests, 4xx, 5xx and a latency histogram.</summary>
public sealed class TrafficWindow
{
    private const int Minutes = 60;
    private readonly long[] _minute = new long[Minutes];
    private readonly long[] _requests = new long[Minutes];
    private readonly long[] _clientErrors = new long[Minutes];
    private readonly long[] _serverErrors = new long[Minutes];
    // A minute's histogram (140 counters) is allocated when that minute first sees traffic: an idle tenant's window
    // costs ~2 KB instead of ~67 KB (bench S10, memory per active tenant).
    private readonly long[]?[] _latency = new long[]?[Minutes];

    public void Add(DateTimeOffset at, long requests, long clientErrors, long serverErrors, long[] latency)
    {
        var slot = Slot(at);
        _requests[slot] += requests;
        _clientErrors[slot] += clientErrors;
        _serverErrors[slot] += serverErrors;
        if (latency.Length == 0)
        {
            return;
        }

        var histogram = Histogram(slot);
        for (var i = 0; i < Math.Min(latency.Length, LatencyHistogram.Buckets); i++)
        {
            histogram[i] += latency[i];
        }
    }

    public void AddOne(DateTimeOffset at, int status, double milliseconds)
    {
        var slot = Slot(at);
        _requests[slot]++;
        if (status >= 500)
        {
            _serverErrors[slot]++;
        }
        else if (status >= 400)
        {
            _clientErrors[slot]++;
        }

        Histogram(slot)[LatencyHistogram.BucketOf(milliseconds)]++;
    }

    public (long Requests, long ClientErrors, long ServerErrors, long[] Latency) Sum(DateTimeOffset now, int minutes)
    {
        var current = now.ToUnixTimeSeconds() / 60;
        long requests = 0, client = 0, server = 0;
        var latency = new long[LatencyHistogram.Buckets];
        for (var i = 0; i < Minutes; i++)
        {
            if (_minute[i] > current - minutes && _minute[i] <= current)
            {
                requests += _requests[i];
                client += _clientErrors[i];
                server += _serverErrors[i];
                if (_latency[i] is { } histogram)
                {
                    for (var b = 0; b < latency.Length; b++)
                    {
                        latency[b] += histogram[b];
                    }
                }
            }
        }

        return (requests, client, server, latency);
    }

    private long[] Histogram(int slot) => _latency[slot] ??= new long[LatencyHistogram.Buckets];

    private int Slot(DateTimeOffset at)
    {
        var minute = at.ToUnixTimeSeconds() / 60;
        var slot = (int)(minute % Minutes);
        if (_minute[slot] != minute)
        {
            _minute[slot] = minute;
            _requests[slot] = _clientErrors[slot] = _serverErrors[slot] = 0;
            _latency[slot] = null;
        }

        return slot;
    }
}
