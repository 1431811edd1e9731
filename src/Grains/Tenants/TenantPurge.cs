using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Tenants;

/// <summary>The tenant-owned rows a hard delete removes besides users and tokens (run before those: customers reference users).</summary>
internal static class TenantPurge
{
    public static async Task DeleteTenantRowsAsync(TenantTransaction transaction, Guid tenantId)
    {
        // Grain state and reminders of the tenant's grains: every tenant-owned key starts with "{tenantId}/"
        // (reminders store the full grain id, "{type}/{key}").
        await transaction.ExecuteAsync("DELETE FROM customers");
        var prefix = tenantId.ToString("D") + "/%";
        await transaction.ExecuteAsync("DELETE FROM orleans_storage WHERE grain_id_extension LIKE $1", prefix);
        // Provisioning records (keyed by Idempotency-Key, not by tenant) that point at this tenant.
        await transaction.ExecuteAsync(
            "DELETE FROM orleans_storage WHERE grain_type = 'provisioning' AND payload IS NOT NULL AND convert_from(payload, 'UTF8')::jsonb ->> 'TenantId' = $1",
            tenantId.ToString("D"));
        await transaction.ExecuteAsync("DELETE FROM orleans_reminders WHERE grain_id LIKE $1 OR grain_id = $2", "%/" + prefix, "tenant/" + GrainKeys.Tenant(tenantId));
    }
}
