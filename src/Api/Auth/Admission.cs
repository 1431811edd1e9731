using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
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
        group.RequireAuthorization(policy);
        AdmissionCache? cache = null;
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var signer = http.RequestServices.GetRequiredService<CallerSigner>();
            var caller = http.User.ToCaller();
            cache ??= http.RequestServices.GetRequiredService<AdmissionCache>();
            if (!cache.Enforce)
            {
                // Benchmark-only switch (S5): measures what admission costs. Never turn it off in production.
                signer.Enter(caller, admittedTenant: caller.TenantId);
                return await next(context);
            }

            if (http.Items.ContainsKey(AdmittedKey))
            {
                // A read tried again after a dead silo (ReadRetry) runs this filter again: one request is one admitted call.
                signer.Enter(caller, admittedTenant: caller.TenantId);
                return await next(context);
            }

            var write = !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method));
            var admission = await cache.AdmitAsync(caller.TenantId, caller.UserId, write);
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

            // Admitted by this node's lease: signed as admitted, so the isolation filter does not ask the TenantGrain again.
            http.Items[AdmittedKey] = true;
            signer.Enter(caller, admittedTenant: caller.TenantId);
            return await next(context);
        });
        return group;
    }
}
