using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.ApiKeys;

/// <summary>A tenant API key as listed: never its secret or the secret's hash.</summary>
[GenerateSerializer, Immutable, Alias("ApiKeyDetails")]
public sealed record ApiKeyDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] string Name,
    [property: Id(3)] string Role,
    [property: Id(4)] string Prefix,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset? ExpiresAt,
    [property: Id(7)] DateTimeOffset? RevokedAt,
    [property: Id(8)] DateTimeOffset? LastUsedAt,
    [property: Id(9)] int? RateLimitPerMinute = null);

[GenerateSerializer, Immutable, Alias("CreateApiKeyRequest")]
public sealed record CreateApiKeyRequest(
    [property: Id(0)] string Name,
    [property: Id(1)] string Role,
    [property: Id(2)] DateTimeOffset? ExpiresAt,
    [property: Id(3)] int? RateLimitPerMinute = null);

/// <summary>A key just created: the secret is in this answer and nowhere else, ever.</summary>
[GenerateSerializer, Immutable, Alias("CreatedApiKey")]
public sealed record CreatedApiKey(
    [property: Id(0)] ApiKeyDetails Key,
    [property: Id(1)] string Secret);

/// <summary>What a presented secret's hash resolves to (<see cref="IApiKeyDirectoryGrain.FindAsync"/>).</summary>
[GenerateSerializer, Immutable, Alias("ApiKeyMatch")]
public sealed record ApiKeyMatch(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] Guid Id,
    [property: Id(2)] string Name,
    [property: Id(3)] string Role,
    [property: Id(4)] DateTimeOffset? ExpiresAt,
    [property: Id(5)] bool Revoked,
    [property: Id(6)] int? RateLimitPerMinute = null);

/// <summary>
/// One per tenant (<see cref="GrainKeys.ApiKeys"/>): the single writer of the tenant's API keys. Tenant admins signed in
/// as people create, list and revoke them (an API key may not manage keys); super-admins list and revoke any tenant's.
/// </summary>
[Alias("IApiKeysGrain")]
public interface IApiKeysGrain : IGrainWithStringKey
{
    [Alias("List"), ReadOnly]
    Task<Outcome<IReadOnlyList<ApiKeyDetails>>> ListAsync();

    [Alias("Create")]
    Task<Outcome<CreatedApiKey>> CreateAsync(CreateApiKeyRequest request);

    /// <summary>Revokes the key (idempotent: revoking a revoked key answers it unchanged); a missing id is NotFound.</summary>
    [Alias("Revoke")]
    Task<Outcome<ApiKeyDetails>> RevokeAsync(Guid keyId);

    /// <summary>Drops this activation (its rows were just purged or replaced); super-admins and the system only.</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}

/// <summary>
/// A node's renewal of its lease on a key's bucket: it wants <paramref name="Want"/> more requests, and reports what it
/// did with the last grant (<paramref name="Spent"/> admitted, <paramref name="Unused"/> given back when the lease lapsed).
/// </summary>
[GenerateSerializer, Immutable, Alias("KeyRateLease")]
public sealed record KeyRateLease(
    [property: Id(0)] Guid Node,
    [property: Id(1)] int Want,
    [property: Id(2)] int Spent,
    [property: Id(3)] int Unused);

/// <summary>The requests granted to the node (already taken from the bucket), or none and how long until one would be.</summary>
[GenerateSerializer, Immutable, Alias("KeyRateGrant")]
public sealed record KeyRateGrant(
    [property: Id(0)] int Granted,
    [property: Id(1)] TimeSpan? RetryAfter);

/// <summary>
/// One per rate-limited key (<see cref="GrainKeys.ApiKeyRate"/>): the key's own token bucket, the same for every node its
/// requests reach. Its limit is read from the key's row, never taken from the caller; only the key itself draws on it.
/// Nodes lease blocks of requests from it (at most a quarter of the minute each) instead of asking per request.
/// </summary>
[Alias("IApiKeyRateGrain")]
public interface IApiKeyRateGrain : IGrainWithStringKey
{
    /// <summary>Grants the node up to what it wants (taken from the bucket) and settles its report of the last grant.</summary>
    [Alias("Lease")]
    Task<KeyRateGrant> LeaseAsync(KeyRateLease lease);
}

/// <summary>Finds the key a presented secret belongs to, across tenants, by the secret's SHA-256; the system caller only.</summary>
[Alias("IApiKeyDirectoryGrain")]
public interface IApiKeyDirectoryGrain : IGrainWithStringKey
{
    [Alias("Find")]
    Task<ApiKeyMatch?> FindAsync(byte[] secretHash);
}
