namespace Shohayota.Grains.Interfaces.Common;

/// <summary>
/// The authenticated caller, carried to every grain call in Orleans' RequestContext by the front end
/// (after token validation) and checked by the grain-call filter against the target grain's tenant.
/// </summary>
[GenerateSerializer, Immutable, Alias("Caller")]
public sealed record Caller(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] Guid UserId,
    [property: Id(2)] string Role,
    [property: Id(3)] string? Email)
{
    private const string TenantKey = "sh-tenant";
    private const string UserKey = "sh-user";
    private const string RoleKey = "sh-role";
    private const string EmailKey = "sh-email";
    private const string AdmittedKey = "sh-admitted";
    private const string IpKey = "sh-ip";
    private const string UserAgentKey = "sh-ua";
    private const string RequestIdKey = "sh-rid";

    /// <summary>Internal work of the cluster itself (start-up bootstrap, reminders): allowed everywhere.</summary>
    public static readonly Caller System = new(GrainKeys.SystemTenant, Guid.Empty, Roles.System, null);

    public bool IsSuperAdmin => Role is Roles.SuperAdmin or Roles.System;

    public static Caller? Current
    {
        get
        {
            if (RequestContext.Get(TenantKey) is not Guid tenant || RequestContext.Get(UserKey) is not Guid user ||
                RequestContext.Get(RoleKey) is not string role)
            {
                return null;
            }

            return new Caller(tenant, user, role, RequestContext.Get(EmailKey) as string);
        }
    }

    /// <summary>The tenant whose TenantGrain admitted the current request, if any.</summary>
    public static Guid? Admitted => RequestContext.Get(AdmittedKey) as Guid?;

    public void Enter()
    {
        RequestContext.Set(TenantKey, TenantId);
        RequestContext.Set(UserKey, UserId);
        RequestContext.Set(RoleKey, Role);
        if (Email is not null)
        {
            RequestContext.Set(EmailKey, Email);
        }
    }

    public static void MarkAdmitted(Guid tenantId) => RequestContext.Set(AdmittedKey, tenantId);

    /// <summary>Where the current request came from, for audit entries.</summary>
    public static (string? Ip, string? UserAgent, string? RequestId) Origin =>
        (RequestContext.Get(IpKey) as string, RequestContext.Get(UserAgentKey) as string, RequestContext.Get(RequestIdKey) as string);

    public static void SetOrigin(string? ip, string? userAgent, string? requestId)
    {
        if (ip is not null)
        {
            RequestContext.Set(IpKey, ip);
        }

        if (userAgent is not null)
        {
            RequestContext.Set(UserAgentKey, userAgent.Length > 512 ? userAgent[..512] : userAgent);
        }

        if (requestId is not null)
        {
            RequestContext.Set(RequestIdKey, requestId);
        }
    }
}

public static class Roles
{
    public const string SuperAdmin = "super_admin";
    public const string TenantAdmin = "tenant_admin";
    public const string Member = "member";
    public const string System = "system";

    public static bool IsTenantRole(string role) => role is TenantAdmin or Member;
}
