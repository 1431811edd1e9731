using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Users;

namespace Shohayota.Grains.Security;

/// <summary>
/// One per process (silo or client-mode front end): at most about one password hash per core at once, a short queue
/// with a short wait, and beyond that a refusal, so a sign-in flood cannot take every core from every tenant.
/// </summary>
public sealed class PasswordHashGate : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly TimeSpan _wait;
    private long _hashes;

    public PasswordHashGate(IOptions<SignInLimitsOptions> options)
    {
        var limits = options.Value;
        _wait = limits.HashQueueTimeout;
        RetryAfter = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(limits.HashQueueTimeout.TotalSeconds)));
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = limits.EffectiveHashConcurrency,
            QueueLimit = limits.HashQueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>What a refused sign-in tells the client to wait.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>Hashes this process computed through the gate (tests read it: a refusal must cost none).</summary>
    public long Hashes => Interlocked.Read(ref _hashes);

    /// <summary>Runs <paramref name="hash"/> when a slot frees within the wait; false when the node is too busy.</summary>
    public async Task<(bool Ran, T Result)> RunAsync<T>(Func<T> hash)
    {
        using var lease = await AcquireAsync();
        if (!lease.IsAcquired)
        {
            return (false, default!);
        }

        Interlocked.Increment(ref _hashes);
        return (true, hash());
    }

    /// <summary>The answer when the gate refused: 503 with how long to wait.</summary>
    public Outcome<T> Busy<T>() =>
        Outcome<T>.Later(Failure.ServiceUnavailable, "Too many sign-ins are being checked right now; try again shortly.", RetryAfter);

    public void Dispose() => _limiter.Dispose();

    private async Task<RateLimitLease> AcquireAsync()
    {
        var now = _limiter.AttemptAcquire();
        if (now.IsAcquired || _wait <= TimeSpan.Zero)
        {
            return now;
        }

        now.Dispose();
        using var timeout = new CancellationTokenSource(_wait);
        try
        {
            return await _limiter.AcquireAsync(1, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return RefusedLease.Instance;
        }
    }

    private sealed class RefusedLease : RateLimitLease
    {
        public static readonly RefusedLease Instance = new();

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
