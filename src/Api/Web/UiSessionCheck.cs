using System.Collections.Concurrent;
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
    private readonly int _capacity = Math.Max(1, configuration.GetValue(CapacityKey, 100_000));

    // Token id → when the database last said the session stands (only good answers are kept).
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _confirmed = new();
    private int _count;
    private long _nextSweepTicks;

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
        if (_confirmed.TryGetValue(tokenId, out var confirmed) && now - confirmed < _interval && now >= confirmed)
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
            Forget(tokenId);
            return false;
        }

        Remember(tokenId, now);
        return true;
    }

    private void Remember(Guid tokenId, DateTimeOffset now)
    {
        if (_confirmed.ContainsKey(tokenId))
        {
            _confirmed[tokenId] = now;
            return;
        }

        if (Volatile.Read(ref _count) >= _capacity && !Sweep(now))
        {
            // Full of fresh answers: this session is simply asked again next time.
            return;
        }

        if (_confirmed.TryAdd(tokenId, now))
        {
            Interlocked.Increment(ref _count);
        }
    }

    private void Forget(Guid tokenId)
    {
        if (_confirmed.TryRemove(tokenId, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Drops answers older than the interval, at most once per interval (it walks every entry); whether there is room now.</summary>
    private bool Sweep(DateTimeOffset now)
    {
        var next = Interlocked.Read(ref _nextSweepTicks);
        if (now.UtcTicks >= next && Interlocked.CompareExchange(ref _nextSweepTicks, now.Add(_interval).UtcTicks, next) == next)
        {
            foreach (var stale in _confirmed.Where(e => now - e.Value >= _interval || now < e.Value))
            {
                Forget(stale.Key);
            }
        }

        return Volatile.Read(ref _count) < _capacity;
    }
}
