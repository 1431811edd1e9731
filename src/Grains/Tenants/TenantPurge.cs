using Shohayota.Grains.Database;

namespace Shohayota.Grains.Tenants;

/// <summary>The tenant-owned rows a hard delete removes besides users and tokens; later features add their tables here.</summary>
internal static class TenantPurge
{
    public static async Task DeleteTenantRowsAsync(TenantTransaction transaction, Guid tenantId)
    {
        // Grain state of the tenant's grains: every tenant-owned key starts with "{tenantId}/".
        await transaction.ExecuteAsync(
            "DELETE FROM orleansstorage WHERE grainidextensionstring LIKE $1",
            tenantId.ToString("D") + "/%");
    }
}
