using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Auth;

/// <summary>
/// Which tenant a per-tenant read is about. A tenant user: their own, from the token; naming it is allowed, naming
/// another is 403. A super-admin: the one named with <c>?tenantId=</c> (400 without one); with
/// <paramref name="allowSystem"/>, also <c>system</c> (the reserved system tenant). At most one of the two problems is set.
/// </summary>
public static class TenantScope
{
    public static (Guid Tenant, FieldProblem? Invalid, ProblemHttpResult? Refused) Resolve(HttpContext http, string? tenantId, string what, bool allowSystem = false)
    {
        var caller = http.User.ToCaller();
        if (caller.IsSuperAdmin)
        {
            if (allowSystem && tenantId == "system")
            {
                return (GrainKeys.SystemTenant, null, null);
            }

            var named = allowSystem ? "a tenant id or \"system\"" : "a tenant id";
            return Guid.TryParse(tenantId, out var id)
                ? (id, null, null)
                : (Guid.Empty, new FieldErrors().Check("tenantId", $"Name the tenant whose {what} you want with ?tenantId= ({named}).").ToProblem(), null);
        }

        return tenantId is null || (Guid.TryParse(tenantId, out var own) && own == caller.TenantId)
            ? (caller.TenantId, null, null)
            : (Guid.Empty, null, Problems.From(Failure.Forbidden, $"You may see your own tenant's {what} only."));
    }
}
