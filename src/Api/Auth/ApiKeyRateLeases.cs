using System.Collections.Concurrent;
using System.Diagnostics;
using Shohayota.Grains.ApiKeys;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Auth;

/// <summary>
/// This node's leases on rate-limited keys' buckets (<see cref="IApiKeyRateGrain"/>): requests are admitted from a block
/// the key's grain already took from its bucket, without a grain call; one renewal per key at a time (the others wait
/// for it) reports what was admitted, gives back what a lapsed lease left, and asks for about a lease's worth at the
/// rate this node saw. A refusal is remembered until the next request could pass (at most a lease), so a flood on a
/// used-up key costs no grain call per request. Together the nodes never admit more than the key's limit: every
/// admission here was taken from the one bucket first.
/// </summary>
public sealed class ApiKeyRateLeases(IGrainFactory grains)
{
    /// <summary>How long a block is used before what is left goes back (the grain keeps a node's holding a few times longer).</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(1);

    /// <summary>Keys whose leases are kept; past it, idle ones are dropped (what they held is given back by the grain's timeout).</summary>
    private const int MaxKeys = 100_000;

    private static readonly long Duration = (long)(LeaseDuration.TotalSeconds * Stopwatch.Frequency);

    private readonly ConcurrentDictionary<Guid, KeyLease> _leases = new();
    private readonly Guid _node = Guid.NewGuid();

    /// <summary>Null when the key's own limit admits the request, else how long until one would be admitted.</summary>
    /// <remarks>Runs as the request's caller (the key itself): only the key draws on its bucket.</remarks>
    public ValueTask<TimeSpan?> TakeAsync(Guid tenantId, Guid keyId)
    {
        var lease = _leases.GetOrAdd(keyId, static _ => new KeyLease());
        return lease.TryTake(Stopwatch.GetTimestamp()) ? ValueTask.FromResult<TimeSpan?>(null) : RenewThenTakeAsync(lease, tenantId, keyId);
    }

    private async ValueTask<TimeSpan?> RenewThenTakeAsync(KeyLease lease, Guid tenantId, Guid keyId)
    {
        await lease.Gate.WaitAsync();
        try
        {
            var now = Stopwatch.GetTimestamp();
            // Another request renewed while this one waited, or the key is still refused.
            if (lease.TryTake(now))
            {
                return null;
            }

            if (lease.Refused(now) is { } wait)
            {
                return wait;
            }

            var report = lease.Report(now);
            var grant = await grains.GetGrain<IApiKeyRateGrain>(GrainKeys.ApiKeyRate(tenantId, keyId))
                .LeaseAsync(new KeyRateLease(_node, report.Want, report.Spent, report.Unused));
            // The request that renewed takes the first of the block (the others are admitted from the rest meanwhile).
            var admitted = lease.Receive(grant, now);
            if (_leases.Count > MaxKeys)
            {
                Trim(keyId);
            }

            return admitted ? null : grant.RetryAfter ?? LeaseDuration;
        }
        finally
        {
            lease.Gate.Release();
        }
    }

    private void Trim(Guid keep)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var (key, lease) in _leases)
        {
            if (key != keep && lease.IdleSince(now) > 10 * Duration)
            {
                _leases.TryRemove(key, out _);
            }
        }
    }

    private sealed class KeyLease
    {
        private readonly Lock _lock = new();
        private int _remaining;
        private int _spent;
        private long _expiresAt;
        private long _renewedAt;
        private long _retryAt;
        private long _refusedUntil;
        private long _lastTake;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public bool TryTake(long now)
        {
            lock (_lock)
            {
                if (_remaining <= 0 || now >= _expiresAt)
                {
                    return false;
                }

                _remaining--;
                _spent++;
                _lastTake = now;
                return true;
            }
        }

        public TimeSpan? Refused(long now)
        {
            lock (_lock)
            {
                return now < _refusedUntil ? TimeSpan.FromSeconds(Math.Max(0, _retryAt - now) / (double)Stopwatch.Frequency) : null;
            }
        }

        /// <summary>What to tell the grain: admitted since the last report, left from a lapsed block, and what to ask for.</summary>
        public (int Want, int Spent, int Unused) Report(long now)
        {
            lock (_lock)
            {
                var spent = _spent;
                var unused = now >= _expiresAt ? _remaining : 0;
                _spent = 0;
                _remaining -= unused;
                // About a lease's worth at the rate this node saw since its last renewal: one request at first.
                var elapsed = Math.Max(now - _renewedAt, Stopwatch.Frequency / 1000);
                var want = _renewedAt == 0 ? 1 : (int)Math.Clamp(Math.Ceiling(spent * (double)Duration / elapsed), 1, ApiKeyRateGrain.MaxWant);
                return (want, spent, unused);
            }
        }

        /// <summary>Adds the grant, and takes its first request for the caller; false when nothing was granted (then remembered).</summary>
        public bool Receive(KeyRateGrant grant, long sentAt)
        {
            lock (_lock)
            {
                _renewedAt = sentAt;
                _expiresAt = sentAt + Duration;
                if (grant.Granted > 0)
                {
                    _remaining += grant.Granted - 1;
                    _spent++;
                    _lastTake = sentAt;
                    return true;
                }

                _retryAt = sentAt + (long)((grant.RetryAfter ?? LeaseDuration).TotalSeconds * Stopwatch.Frequency);
                _refusedUntil = Math.Min(_retryAt, sentAt + Duration);
                return false;
            }
        }

        public long IdleSince(long now)
        {
            lock (_lock)
            {
                return now - Math.Max(_lastTake, _renewedAt);
            }
        }
    }
}
