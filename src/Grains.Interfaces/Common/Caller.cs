namespace Shohayota.Grains.Interfaces.Common;

/// <summary>
/// The authenticated caller: a person (a user's token) or, with <see cref="ApiKey"/>, a tenant API key (then
/// <see cref="UserId"/> is the key's id and <see cref="Email"/> its <see cref="ApiKeyActor"/> name), or a super-admin
/// acting as a user in a support session (<see cref="SupportSession"/>, with the super-admin's e-mail in
/// <see cref="SupportBy"/>: audit entries record both). It crosses grain calls in Orleans' RequestContext only inside a <see cref="SignedCaller"/>
/// envelope signed by the node that authenticated the request (the front end after token validation, or the silo for
/// its own work); the grain-call filter verifies the signature before any grain method runs.
/// </summary>
[GenerateSerializer, Immutable, Alias("Caller")]
public sealed record Caller(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] Guid UserId,
    [property: Id(2)] string Role,
    [property: Id(3)] string? Email,
    [property: Id(4)] bool ApiKey = false,
    [property: Id(5)] Guid? SupportSession = null,
    [property: Id(6)] string? SupportBy = null)
{
    /// <summary>How an API key appears where a person's e-mail would (the audit log's actor): its name, marked as a key.</summary>
    public static string ApiKeyActor(string name) => "api-key:" + name;

    /// <summary>The RequestContext key of the signed envelope.</summary>
    public const string ContextKey = "sh-caller";
    private const string IpKey = "sh-ip";
    private const string UserAgentKey = "sh-ua";
    private const string RequestIdKey = "sh-rid";

    /// <summary>Internal work of the cluster itself (start-up bootstrap, reminders): allowed everywhere, signed by a node only.</summary>
    public static readonly Caller System = new(GrainKeys.SystemTenant, Guid.Empty, Roles.System, null);

    public bool IsSuperAdmin => Role is Roles.SuperAdmin or Roles.System;

    /// <summary>Signed in as oneself: not an API key, not a super-admin acting as a user in a support session.</summary>
    public bool InPerson => !ApiKey && SupportSession is null;

    /// <summary>The signed envelope of the current call, as it arrived (the isolation filter has verified it inside a grain).</summary>
    public static SignedCaller? Envelope => RequestContext.Get(ContextKey) as SignedCaller;

    /// <summary>The caller of the current grain call; inside a grain, verified by the isolation filter before the method ran.</summary>
    public static Caller? Current => Envelope?.Caller;

    /// <summary>The tenant whose TenantGrain admitted the current request, if any (signed with the caller).</summary>
    public static Guid? Admitted => Envelope?.AdmittedTenant;

    /// <summary>Where the current request came from, for audit entries (the request id is the signed one).</summary>
    public static (string? Ip, string? UserAgent, string? RequestId) Origin =>
        (RequestContext.Get(IpKey) as string, RequestContext.Get(UserAgentKey) as string, Envelope?.RequestId ?? RequestId);

    /// <summary>The front end's id of the current request, before a caller is signed.</summary>
    public static string? RequestId => RequestContext.Get(RequestIdKey) as string;

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
            RequestContext.Set(RequestIdKey, requestId.Length > 128 ? requestId[..128] : requestId);
        }
    }
}

/// <summary>
/// A caller as it crosses a grain call: who, for which admitted tenant and request, until when, signed with HMAC-SHA256
/// under the cluster's caller key <see cref="KeyId"/> (see CallerSigner in Shohayota.Grains.Security).
/// </summary>
[GenerateSerializer, Immutable, Alias("SignedCaller")]
public sealed record SignedCaller(
    [property: Id(0)] Caller Caller,
    [property: Id(1)] Guid? AdmittedTenant,
    [property: Id(2)] string? RequestId,
    [property: Id(3)] long ExpiresAtUnixMs,
    [property: Id(4)] int KeyId,
    [property: Id(5)] byte[] Signature);

public static class Roles
{
    public const string SuperAdmin = "super_admin";
    public const string TenantAdmin = "tenant_admin";
    public const string Member = "member";
    public const string System = "system";

    public static bool IsTenantRole(string role) => role is TenantAdmin or Member;
}
