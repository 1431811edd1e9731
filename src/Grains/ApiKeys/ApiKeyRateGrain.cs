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
[GrainType("api-key-rate")]
public sealed class ApiKeyRateGrain(TenantDatabase database, TimeProvider time) : Grain, IApiKeyRateGrain
{
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

    public Task<TimeSpan?> TakeAsync()
    {
        if (Caller.Current is not { ApiKey: true } caller || caller.TenantId != _tenantId || caller.UserId != _keyId)
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only the key itself draws on its rate limit.");
        }

        // A key without a limit (or whose row is gone) is not limited here; its tenant's limit still applies.
        if (_bucket is null || _bucket.TryTake(time.GetTimestamp(), time.TimestampFrequency, out var retryAfter))
        {
            return Task.FromResult<TimeSpan?>(null);
        }

        return Task.FromResult<TimeSpan?>(retryAfter);
    }
}
