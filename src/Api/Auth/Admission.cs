using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

public static class AdmissionExtensions
{
    /// <summary>
    /// Every route of the group needs a valid token of one of <paramref name="policy"/>'s roles, and each request is
    /// admitted by the caller's TenantGrain (status, disabled user) before any handler runs.
    /// </summary>
    public static RouteGroupBuilder RequireAdmission(this RouteGroupBuilder group, string policy)
    {
        group.RequireAuthorization(policy);
        bool? enforce = null;
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            // One parse of the claims and one signer for both envelopes: before admission, and admitted after it.
            var signer = http.RequestServices.GetRequiredService<CallerSigner>();
            var caller = http.User.ToCaller();
            signer.Enter(caller);
            // Read once: a configuration lookup per request takes a lock (measured in the benchmark).
            enforce ??= http.RequestServices.GetRequiredService<IConfiguration>().GetValue("Shohayota:Admission:Enforce", true);
            if (enforce == false)
            {
                // Benchmark-only switch (S5): measures what admission costs. Never turn it off in production.
                signer.Enter(caller, admittedTenant: caller.TenantId);
                return await next(context);
            }

            var write = !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method));
            var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
            var admission = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(caller.TenantId)).AdmitAsync(caller.UserId, write);
            if (!admission.Allowed)
            {
                var problem = Problems.From(admission.Failure, admission.Detail);
                if (admission.Failure == Failure.RateLimited)
                {
                    http.Response.Headers.RetryAfter = ((int)Math.Ceiling(admission.RetryAfterSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                else if (admission.Quota is not null)
                {
                    Problems.AddQuota(problem.ProblemDetails, admission.Quota, admission.Limit, admission.Used);
                }

                return problem;
            }

            signer.Enter(caller, admittedTenant: caller.TenantId);
            return await next(context);
        });
        return group;
    }
}
