using Microsoft.Extensions.Configuration;
using Npgsql;
using Shohayota.Grains.Database;

namespace Shohayota.Grains.Audit;

/// <summary>
/// The owner connection's permission for the two operations that remove or restart a tenant's audit chain: purging a
/// hard-deleted tenant's chain, and starting a restored chain at a verified export's checkpoint. The runtime role cannot
/// issue it (<c>audit_maintenance_grants</c> is owner-only); it is bound to the one runtime transaction that asked for it
/// and is used up by <c>audit_purge_tenant()</c> or <c>audit_restore_checkpoint()</c> in that transaction.
/// </summary>
public sealed class AuditMaintenance(IConfiguration configuration, NpgsqlDataSource runtime) : IAsyncDisposable
{
    // DatabaseSetup.AdminConnectionStringName; without it the runtime connection string is the owner's (as for migrations).
    private const string OwnerConnectionStringName = "ShohayotaAdmin";
    private readonly Lazy<NpgsqlDataSource?> _owner = new(() =>
        configuration.GetConnectionString(OwnerConnectionStringName) is { Length: > 0 } owner ? NpgsqlDataSource.Create(owner) : null);

    /// <summary>Lets <paramref name="transaction"/> purge the chain of <paramref name="tenantId"/> (once its registry row is gone).</summary>
    public Task AllowPurgeAsync(TenantTransaction transaction, Guid tenantId) => AllowAsync(transaction, tenantId, "purge", null, null);

    /// <summary>Lets <paramref name="transaction"/> start the chain of <paramref name="tenantId"/> at exactly this checkpoint.</summary>
    public Task AllowCheckpointAsync(TenantTransaction transaction, Guid tenantId, long seq, byte[] hash) =>
        AllowAsync(transaction, tenantId, "checkpoint", seq, hash);

    private async Task AllowAsync(TenantTransaction transaction, Guid tenantId, string operation, long? seq, byte[]? hash)
    {
        long xid;
        await using (var current = transaction.Command("SELECT txid_current()"))
        {
            xid = (long)(await current.ExecuteScalarAsync())!;
        }

        await using var grant = (_owner.Value ?? runtime).CreateCommand(
            "INSERT INTO audit_maintenance_grants (xid, tenant_id, operation, seq, hash) VALUES ($1, $2, $3, $4, $5)");
        grant.Parameters.Add(new NpgsqlParameter { Value = xid });
        grant.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        grant.Parameters.Add(new NpgsqlParameter { Value = operation });
        grant.Parameters.Add(new NpgsqlParameter { Value = (object?)seq ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        grant.Parameters.Add(new NpgsqlParameter { Value = (object?)hash ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        await grant.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_owner.IsValueCreated && _owner.Value is { } owner)
        {
            await owner.DisposeAsync();
        }
    }
}
