using Microsoft.Extensions.Options;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Support;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

/// <summary>
/// Whether support sessions presented to this node still stand, from the tenant's <see cref="ISupportSessionsGrain"/>,
/// remembered for at most <see cref="ApiKeyOptions.MaxAge"/> like API keys (<see cref="RecentLookups{TKey, TValue}"/>):
/// a session ended or forbidden through another node is refused here within that bound; through this node, at once.
/// </summary>
public sealed class SupportSessionCache : IDisposable
{
    /// <summary>HttpContext item: the request's support token was refused because its session ended.</summary>
    public static readonly object EndedKey = new();

    private readonly RecentLookups<(Guid Tenant, Guid Session), bool> _sessions;

    public SupportSessionCache(IGrainFactory grains, CallerSigner signer, IOptions<ApiKeyOptions> options)
    {
        _sessions = new(async key =>
        {
            signer.EnterSystem();
            return await grains.GetGrain<ISupportSessionsGrain>(GrainKeys.SupportSessions(key.Tenant)).IsActiveAsync(key.Session);
        }, options.Value.MaxAge, options.Value.CacheSize, options.Value.MaxConcurrentLookups);
    }

    public ValueTask<bool> IsActiveAsync(Guid tenantId, Guid sessionId) => _sessions.GetAsync((tenantId, sessionId));

    /// <summary>Forgets what this node knows of the tenant's sessions (one was ended, or support access forbidden, here).</summary>
    public void ForgetTenant(Guid tenantId) => _sessions.Forget((key, _) => key.Tenant == tenantId);

    public void Dispose() => _sessions.Dispose();
}
