namespace Shohayota.Grains.Interfaces.Users;

/// <summary>What the stateless look-up found for a presented refresh token (before any user grain is involved).</summary>
public enum RefreshTokenStatus
{
    /// <summary>No such token, or the secret does not match: refused without touching the user's grain.</summary>
    Unknown,
    Live,
    /// <summary>Already rotated but not revoked: presenting it again is reuse, which the user's grain answers by revoking the family.</summary>
    Consumed,
    Expired,
    Revoked,
}

/// <summary>
/// Looks a refresh token up by id and secret hash under its tenant's row-level security, so that /refresh and /logout
/// refuse unknown tokens without activating a user grain; stateless.
/// </summary>
[Alias("IRefreshTokenDirectoryGrain")]
public interface IRefreshTokenDirectoryGrain : IGrainWithStringKey
{
    [Alias("Find"), Orleans.Concurrency.ReadOnly]
    Task<RefreshTokenStatus> FindAsync(Guid tenantId, Guid userId, Guid tokenId, string secret);
}
