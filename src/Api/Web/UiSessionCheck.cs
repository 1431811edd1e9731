using System.Security.Claims;
using Shohayota.Api.Auth;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Web;

/// <summary>
/// Whether a UI cookie's session still stands: its refresh token (claim <see cref="UiAuth.SessionClaim"/>) not revoked
/// (sign-out anywhere, a password change, a disabled user, "sign out all sessions") and not expired. The database is asked
/// at most once per <see cref="IntervalKey"/> per session on each node; the answers in between come from a bounded
/// node-local cache, so a revoked session stops working within that interval.
/// </summary>
public sealed class UiSessionCheck(IGrainFactory grains, CallerSigner signer, TimeProvider time, IConfiguration configuration)
{
    public const string IntervalKey = "Shohayota:Ui:SessionRevalidation";
    public const string CapacityKey = "Shohayota:Ui:SessionCacheSize";
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _interval = configuration.GetValue(IntervalKey, DefaultInterval);

    // Token id → when the database last said the session stands (only good answers are kept).
    private readonly BoundedCache<Guid, DateTimeOffset> _confirmed = CreateCache(configuration);

    public TimeSpan Interval => _interval;

    public async Task<bool> IsActiveAsync(ClaimsPrincipal principal)
    {
        if (!RefreshTokenFormat.TryParse(principal.FindFirstValue(UiAuth.SessionClaim), out var tenant, out var user, out var tokenId, out var secret))
        {
            return false;
        }

        var caller = principal.ToCaller();
        if (caller.TenantId != tenant || caller.UserId != user)
        {
            return false;
        }

        var now = time.GetUtcNow();
        if (_confirmed.TryGet(tokenId, now, out _))
        {
            return true;
        }

        // A read of the caller's own session only: signed as admitted so it costs no TenantGrain call (the request itself
        // is admitted or refused by the tenant's grain anyway).
        signer.Enter(caller, admittedTenant: caller.TenantId);
        bool active;
        try
        {
            active = await grains.GetGrain<ISessionsGrain>(GrainKeys.Sessions(tenant)).IsActiveAsync(tokenId, secret);
        }
        finally
        {
            RequestContext.Clear();
        }

        if (!active)
        {
            _confirmed.Remove(tokenId);
            return false;
        }

        // When the cache is full of fresh answers, this session is simply asked again next time.
        _confirmed.Set(tokenId, now, now);
        return true;
    }

    /// <summary>An answer is good for one interval (and not at all once the clock went back before it); a full cache sweeps at most once per interval.</summary>
    private static BoundedCache<Guid, DateTimeOffset> CreateCache(IConfiguration configuration)
    {
        var interval = configuration.GetValue(IntervalKey, DefaultInterval);
        return new(Math.Max(1, configuration.GetValue(CapacityKey, 100_000)), (confirmed, now) => now - confirmed < interval && now >= confirmed, interval);
    }
}
