using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

public static class AdmissionExtensions
{
    /// <summary>The request was admitted (its call counted) by this filter already.</summary>
    private static readonly object AdmittedKey = new();

    /// <summary>
    /// Every route of the group needs a valid token of one of <paramref name="policy"/>'s roles, and each request is
    /// admitted (status, disabled user, rate limit, monthly API calls) before any handler runs: from this node's lease of
    /// the caller's TenantGrain (<see cref="AdmissionCache"/>), without a grain call while the lease lasts.
    /// </summary>
    public static RouteGroupBuilder RequireAdmission(this RouteGroupBuilder group, string policy)
    {
        group.RequireAuthorization(policy).WithMetadata(Hosting.AdmittedRoute.Instance);
        AdmissionCache? cache = null;
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var caller = http.User.ToCaller();
            cache ??= http.RequestServices.GetRequiredService<AdmissionCache>();
            if (await RefusalAsync(http, cache, caller) is { } refused)
            {
                return refused;
            }

            // Admitted by this node's lease: signed as admitted, so the isolation filter does not ask the TenantGrain again.
            http.RequestServices.GetRequiredService<CallerSigner>().Enter(caller, admittedTenant: caller.TenantId);
            if (http.User.Identity is ApiKeyIdentity { Match.RateLimitPerMinute: { } perMinute } key &&
                await KeyRefusalAsync(http, key, perMinute) is { } limited)
            {
                return limited;
            }

            Grains.Diagnostics.TenantSpans.Set(caller.TenantId);
            var result = await next(context);
            if (caller.SupportSession is not null)
            {
                await AuditSupportRequestAsync(http, result);
            }

            return result;
        });
        return group;
    }

    /// <summary>
    /// A key with its own rate limit draws on its bucket (<see cref="IApiKeyRateGrain"/>, one for the cluster, through this
    /// node's lease on it: <see cref="ApiKeyRateLeases"/>) after its tenant admitted the request: 429 <c>rate-limited</c> with Retry-After when the key's minute is used up.
    /// </summary>
    private static async Task<IResult?> KeyRefusalAsync(HttpContext http, ApiKeyIdentity key, int perMinute)
    {
        if (await http.RequestServices.GetRequiredService<ApiKeyRateLeases>().TakeAsync(key.Match.TenantId, key.Match.Id) is not { } wait)
        {
            return null;
        }

        Problems.SetRetryAfter(http.Response, wait);
        return Problems.From(Failure.RateLimited,
            $"This API key's own rate limit ({perMinute:N0} requests a minute) is used up; retry after the time in Retry-After.");
    }

    /// <summary>
    /// Every request of a support session is in the tenant's audit log (<c>support.request</c>: method, path, status), its
    /// actor the user acted as and its details naming the super-admin behind them (the log adds that from the caller).
    /// </summary>
    private static async Task AuditSupportRequestAsync(HttpContext http, object? result)
    {
        var status = result is IStatusCodeHttpResult { StatusCode: { } code } ? code : StatusCodes.Status200OK;
        var caller = http.User.ToCaller();
        await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(caller.TenantId)).AppendAsync(
        [
            new AuditDraft("support.request", "request", null,
                status < 400 ? AuditOutcomes.Success : AuditOutcomes.Denied,
                Grains.Audit.AuditChain.Details(new { method = http.Request.Method, path = http.Request.Path.Value, status })),
        ]);
    }

    /// <summary>
    /// The admission of the request (a GET or HEAD is a read) from this node's lease of the caller's TenantGrain: null when
    /// admitted — the caller is then signed by the caller of this method, as RequestContext set in here would not outlive
    /// it — else the problem to answer. Every admitted path (the API's route groups, the UI's downloads) goes through here,
    /// so a request is counted once, against the same lease, and refused with the same problem.
    /// </summary>
    public static async ValueTask<IResult?> RefusalAsync(HttpContext http, AdmissionCache cache, Caller caller)
    {
        // Benchmark-only switch (S5): measures what admission costs. Never turn it off in production.
        // A read tried again after a dead silo (ReadRetry) comes back here: one request is one admitted call.
        if (!cache.Enforce || http.Items.ContainsKey(AdmittedKey))
        {
            return null;
        }

        var write = !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method));
        var admission = await cache.AdmitAsync(caller.TenantId, caller.UserId, write, person: !caller.ApiKey);
        if (!admission.Allowed)
        {
            var problem = Problems.From(admission.Failure, admission.Detail);
            if (admission.Failure == Failure.RateLimited)
            {
                Problems.SetRetryAfter(http.Response, TimeSpan.FromSeconds(admission.RetryAfterSeconds));
            }
            else if (admission.Quota is not null)
            {
                Problems.AddQuota(problem.ProblemDetails, admission.Quota, admission.Limit, admission.Used);
            }

            return problem;
        }

        http.Items[AdmittedKey] = true;
        return null;
    }
}
