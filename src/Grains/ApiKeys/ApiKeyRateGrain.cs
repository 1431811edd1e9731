using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Quotas;

namespace Shohayota.Grains.ApiKeys;

/// <summary>
/// A rate-limited API key's bucket (<see cref="GrainKeys.ApiKeyRate"/>): one activation in the cluster, so the limit holds
/// across every node the key's requests reach. Its limit is the key's row (<c>rate_limit_per_minute</c>, read under the
/// tenant's RLS at activation; keys are not edited), a minute's worth as burst, refilled evenly. Only the key itself
/// draws on it: a caller that is not this key of this tenant is refused, whatever it asks.
/// </summary>
/// <remarks>
/// Nodes lease blocks of requests: a grant is taken from the bucket at once, so the nodes together never admit more than
/// the limit. A node holds at most a quarter of the minute (at least one request), so the others are not starved. What a
/// node reports back is settled against what it holds here: it cannot give back more than it was granted, so a report
/// never mints requests. A node that stops reporting (idle, or gone) is forgotten after <see cref="HoldFor"/>: its
/// unused requests are lost (never admitted twice), and the room they took in the burst comes back.
/// </remarks>
[GrainType("api-key-rate")]
public sealed class ApiKeyRateGrain(TenantDatabase database, TimeProvider time) : Grain, IApiKeyRateGrain
{
    /// <summary>How long a node's holding is kept without a report (nodes' leases last one second).</summary>
    public static readonly TimeSpan HoldFor = TimeSpan.FromSeconds(5);

    /// <summary>The most a node may want at once, whatever the limit.</summary>
    public const int MaxWant = 100_000;

    private readonly Dictionary<Guid, (long Held, long At)> _nodes = [];
    private Guid _tenantId;
    private Guid _keyId;
    private TokenBucket? _bucket;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantId, _keyId) = GrainKeys.Split(this.GetPrimaryKeyString());
        var limit = await database.ReadAsync(_tenantId,
            TenantDatabase.Statement("SELECT rate_limit_per_minute FROM api_keys WHERE id = $1", _keyId),
            async reader => await reader.ReadAsync(cancellationToken) && !reader.IsDBNull(0) ? reader.GetInt32(0) : (int?)null,
            cancellationToken: cancellationToken);
        _bucket = limit is { } perMinute ? new TokenBucket(perMinute / 60.0, perMinute, time.GetTimestamp()) : null;
    }

    public Task<KeyRateGrant> LeaseAsync(KeyRateLease lease)
    {
        if (Caller.Current is not { ApiKey: true } caller || caller.TenantId != _tenantId || caller.UserId != _keyId)
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only the key itself draws on its rate limit.");
        }

        var want = Math.Clamp(lease.Want, 1, MaxWant);
        // A key without a limit (or whose row is gone) is not limited here; its tenant's limit still applies.
        if (_bucket is null)
        {
            return Task.FromResult(new KeyRateGrant(want, null));
        }

        var now = time.GetTimestamp();
        ForgetIdleNodes(now);
        var held = 0L;
        if (_nodes.TryGetValue(lease.Node, out var holding))
        {
            var spent = Math.Clamp(lease.Spent, 0, holding.Held);
            var unused = Math.Clamp(lease.Unused, 0, holding.Held - spent);
            _bucket.Return(spent, unused);
            held = holding.Held - spent - unused;
        }

        // Still holding its quarter (admissions it has not reported yet): nothing more until it reports.
        var room = Math.Max(1, (long)(_bucket.Burst / 4)) - held;
        var retryAfter = TimeSpan.FromSeconds(1);
        var granted = room > 0 ? _bucket.TakeUpTo((int)Math.Min(want, room), now, time.TimestampFrequency, out retryAfter) : 0;
        _nodes[lease.Node] = (held + granted, now);
        return Task.FromResult(new KeyRateGrant(granted, granted > 0 ? null : retryAfter));
    }

    private void ForgetIdleNodes(long now)
    {
        var idle = (long)(HoldFor.TotalSeconds * time.TimestampFrequency);
        foreach (var (node, holding) in _nodes.Where(n => now - n.Value.At > idle).ToList())
        {
            _bucket!.Forget(holding.Held);
            _nodes.Remove(node);
        }
    }
}
