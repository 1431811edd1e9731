namespace Shohayota.Grains.Interfaces.Common;

/// <summary>
/// Builds and parses every grain key. Tenant-owned keys start with the tenant id and always contain a
/// non-hex character (the ADO.NET storage provider stores hex-looking string keys as integers).
/// </summary>
public static class GrainKeys
{
    /// <summary>The reserved tenant of super-admins and of the system audit log.</summary>
    public static readonly Guid SystemTenant = Guid.Empty;

    public static string Tenant(Guid tenantId) => $"tenant/{tenantId:D}";

    public static string User(Guid tenantId, Guid userId) => $"{tenantId:D}/user/{userId:D}";

    public static string Sessions(Guid tenantId) => $"{tenantId:D}/sessions";

    public static string Customer(Guid tenantId, Guid customerId) => $"{tenantId:D}/customer/{customerId:D}";

    public static string CustomerQuery(Guid tenantId) => $"{tenantId:D}/customers";

    public static string Contact(Guid tenantId, Guid contactId) => $"{tenantId:D}/contact/{contactId:D}";

    public static string ContactQuery(Guid tenantId) => $"{tenantId:D}/contacts";

    public static string Deal(Guid tenantId, Guid dealId) => $"{tenantId:D}/deal/{dealId:D}";

    public static string DealQuery(Guid tenantId) => $"{tenantId:D}/deals";

    public static string Activity(Guid tenantId, Guid activityId) => $"{tenantId:D}/activity/{activityId:D}";

    public static string ActivityQuery(Guid tenantId) => $"{tenantId:D}/activities";

    public static string CustomFields(Guid tenantId) => $"{tenantId:D}/custom-fields";

    public static string Pipeline(Guid tenantId) => $"{tenantId:D}/pipeline";

    public static string Imports(Guid tenantId) => $"{tenantId:D}/imports";

    public static string ApiKeys(Guid tenantId) => $"{tenantId:D}/api-keys";

    public static string ApiKeyRate(Guid tenantId, Guid keyId) => $"{tenantId:D}/api-key-rate/{keyId:D}";

    public static string Webhooks(Guid tenantId) => $"{tenantId:D}/webhooks";

    public static string SupportSessions(Guid tenantId) => $"{tenantId:D}/support-sessions";

    public static string AuditLog(Guid tenantId) => $"{tenantId:D}/audit";

    public static string AuditQuery(Guid tenantId) => $"{tenantId:D}/audit-query";

    public static string Provisioning(string idempotencyKey) => $"provision/{idempotencyKey}";

    /// <summary>The tenant a tenant-owned key belongs to, or null when the key is not tenant-owned.</summary>
    public static Guid? TenantOf(string key)
    {
        if (key.StartsWith("tenant/", StringComparison.Ordinal))
        {
            return Guid.TryParseExact(key.AsSpan("tenant/".Length), "D", out var tenant) ? tenant : null;
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash == 36 && Guid.TryParseExact(key.AsSpan(0, 36), "D", out var owner) ? owner : null;
    }

    public static (Guid TenantId, Guid LocalId) Split(string key)
    {
        var last = key.LastIndexOf('/');
        return (Guid.ParseExact(key.AsSpan(0, 36), "D"), Guid.ParseExact(key.AsSpan(last + 1), "D"));
    }
}

/// <summary>Marker for grains keyed by <see cref="GrainKeys.Tenant"/>.</summary>
public interface ITenantGrainKey : IGrainWithStringKey;
