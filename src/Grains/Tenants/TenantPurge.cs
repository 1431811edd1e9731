using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Tenants;

/// <summary>Removes every row and grain state of a tenant, in one transaction; returns the rows removed per table.</summary>
internal static class TenantPurge
{
    public static async Task<IReadOnlyDictionary<string, long>> DeleteTenantRowsAsync(TenantTransaction transaction, Guid tenantId, AuditMaintenance maintenance)
    {
        var removed = new Dictionary<string, long>(StringComparer.Ordinal);
        async Task Remove(string table, string sql, params object?[] parameters) =>
            removed[table] = removed.GetValueOrDefault(table) + await transaction.ExecuteAsync(sql, parameters);

        // Activities reference deals, contacts, customers and users; deals (and their contact links) reference stages, contacts
        // and customers, contacts reference customers, customers reference users, so they go first (the custom-field
        // definitions with them; nothing references those); the registry row goes before the audit log (the log function checks it).
        await Remove("activities", "DELETE FROM activities");
        await Remove("deal_contacts", "DELETE FROM deal_contacts");
        await Remove("deals", "DELETE FROM deals");
        await Remove("pipeline_stages", "DELETE FROM pipeline_stages");
        await Remove("contacts", "DELETE FROM contacts");
        await Remove("customers", "DELETE FROM customers");
        await Remove("custom_field_definitions", "DELETE FROM custom_field_definitions");
        await Remove("refresh_tokens", "DELETE FROM refresh_tokens");
        await Remove("api_keys", "DELETE FROM api_keys");
        await Remove("webhook_deliveries", "DELETE FROM webhook_deliveries");
        await Remove("webhook_events", "DELETE FROM webhook_events");
        await Remove("webhooks", "DELETE FROM webhooks");
        await Remove("support_sessions", "DELETE FROM support_sessions");
        await Remove("tenant_settings", "DELETE FROM tenant_settings");
        await Remove("users", "DELETE FROM users");
        await Remove("tenant_quota_overrides", "DELETE FROM tenant_quota_overrides");
        await Remove("tenant_usage_metrics", "DELETE FROM tenant_usage_metrics");

        // Grain state and reminders of the tenant's grains: every tenant-owned key starts with "{tenantId}/"
        // (reminders store the full grain id, "{type}/{key}").
        var prefix = tenantId.ToString("D") + "/%";
        await Remove("orleans_storage", "DELETE FROM orleans_storage WHERE grain_id_extension LIKE $1", prefix);

        // Provisioning records (keyed by Idempotency-Key, not by tenant) that point at this tenant.
        await Remove("orleans_storage",
            "DELETE FROM orleans_storage WHERE grain_type = 'provisioning' AND payload IS NOT NULL AND convert_from(payload, 'UTF8')::jsonb ->> 'TenantId' = $1",
            tenantId.ToString("D"));
        await Remove("orleans_reminders", "DELETE FROM orleans_reminders WHERE grain_id LIKE $1 OR grain_id = $2", "%/" + prefix, "tenant/" + GrainKeys.Tenant(tenantId));
        await Remove("tenants", "DELETE FROM tenants WHERE id = $1", tenantId);

        await using var alerts = transaction.Command("SELECT alerts_purge_tenant()");
        removed["tenant_alerts"] = (long)(await alerts.ExecuteScalarAsync())!;
        await maintenance.AllowPurgeAsync(transaction, tenantId);
        await using var audit = transaction.Command("SELECT audit_purge_tenant()");
        removed["audit_logs"] = (long)(await audit.ExecuteScalarAsync())!;
        return removed;
    }
}
