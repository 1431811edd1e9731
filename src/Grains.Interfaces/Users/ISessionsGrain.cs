using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Users;

/// <summary>
/// One tenant's sign-in sessions (refresh-token families) as a whole, keyed by <see cref="GrainKeys.Sessions"/>: the
/// web UI's check that a cookie's session still stands, and a super-admin's "sign out every user of the tenant".
/// </summary>
[Alias("ISessionsGrain")]
public interface ISessionsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Whether the caller's own refresh token (the one a UI cookie carries) still stands: it exists, its secret matches, it
    /// has not expired and was not revoked (revoking a family revokes each of its tokens).
    /// </summary>
    [Alias("IsActive"), ReadOnly]
    Task<bool> IsActiveAsync(Guid tokenId, string secret);

    /// <summary>Revokes every refresh-token family of every user of the tenant; super-admins only. How many were active.</summary>
    [Alias("RevokeAll")]
    Task<Outcome<int>> RevokeAllAsync();
}
