using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Auth;

/// <summary>
/// Which tenant a per-tenant read is about. A tenant user: their own, from the token; naming it is allowed, naming
/// another is 403. A super-admin: the one named with <c>?tenantId=</c> (400 without one); with
/// <c>allowSystem</c>, also <c>system</c> (the reserved system tenant).
/// </summary>
public static class TenantScope
{
    public static ScopedTenant Resolve(HttpContext http, string? tenantId, string what, bool allowSystem = false)
    {
        var caller = http.User.ToCaller();
        if (caller.IsSuperAdmin)
        {
            if (allowSystem && tenantId == "system")
            {
                return new(GrainKeys.SystemTenant, null, null);
            }

            var named = allowSystem ? "a tenant id or \"system\"" : "a tenant id";
            return Guid.TryParse(tenantId, out var id)
                ? new(id, null, null)
                : new(Guid.Empty, new FieldErrors().Check("tenantId", $"Name the tenant whose {what} you want with ?tenantId= ({named}).").ToProblem(), null);
        }

        return tenantId is null || (Guid.TryParse(tenantId, out var own) && own == caller.TenantId)
            ? new(caller.TenantId, null, null)
            : new(Guid.Empty, null, Problems.From(Failure.Forbidden, $"You may see your own tenant's {what} only."));
    }
}

/// <summary>The tenant a read is about, or why it may not be read: a 400 naming <c>tenantId</c>, or a 403 (at most one).</summary>
public readonly record struct ScopedTenant(Guid Tenant, FieldProblem? Invalid, ProblemHttpResult? Forbidden)
{
    /// <summary>The refusal as any handler's answer, or null when the tenant is resolved.</summary>
    public IResult? Problem => (IResult?)Invalid ?? Forbidden;

    /// <summary>The refusal as a handler's typed answer (<typeparamref name="TOk"/> or a problem), or null when the tenant is resolved.</summary>
    public Results<TOk, FieldProblem, ProblemHttpResult>? Refusal<TOk>()
        where TOk : IResult
    {
        if (Invalid is not null)
        {
            return Invalid;
        }

        if (Forbidden is not null)
        {
            return Forbidden;
        }

        return null;
    }
}
