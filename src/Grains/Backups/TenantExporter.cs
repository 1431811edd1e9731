using System.Data;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Grains.Backups;

/// <summary>
/// Opens one tenant's data as a consistent snapshot (one REPEATABLE READ, READ ONLY transaction with the tenant set, so
/// row-level security applies) and streams it as a bundle: rows go from the reader to the JSON writer to the output,
/// nothing is collected, so memory stays flat whatever the tenant's size. Bundles with password hashes (super-admin
/// exports, backups) are signed with the server's bundle key; a tenant admin's export is not, and cannot be restored.
/// </summary>
public sealed class TenantExporter(NpgsqlDataSource dataSource, TimeProvider time, BundleSigner signer)
{
    /// <summary>The tenant's snapshot, or null when no such tenant exists.</summary>
    public async Task<TenantSnapshot?> OpenAsync(Guid tenantId, CancellationToken cancellationToken = default)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SET TRANSACTION READ ONLY"));
                var set = new NpgsqlBatchCommand("SELECT set_config('app.tenant_id', $1, true)");
                set.Parameters.Add(new NpgsqlParameter { Value = tenantId.ToString("D") });
                batch.BatchCommands.Add(set);
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }

            TenantRow? tenant = null;
            await using (var read = new NpgsqlCommand(
                """
                SELECT id, name, contact_email, plan, status, status_reason, created_at, status_changed_at, retention_until, updated_at
                FROM tenants WHERE id = $1
                """,
                connection, transaction))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = tenantId });
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    tenant = new TenantRow(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                        reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7),
                        reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateTimeOffset>(9));
                }
            }

            if (tenant is null)
            {
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
                return null;
            }

            return new TenantSnapshot(connection, transaction, tenant, time.Now(), signer);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

/// <summary>One tenant's rows as of one moment; write it as a full export or as the increment since a backup.</summary>
public sealed class TenantSnapshot : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly DateTimeOffset _at;
    private readonly BundleSigner _signer;

    internal TenantSnapshot(NpgsqlConnection connection, NpgsqlTransaction transaction, TenantRow tenant, DateTimeOffset at, BundleSigner signer)
    {
        _signer = signer;
        _connection = connection;
        _transaction = transaction;
        Tenant = tenant;
        _at = at;
    }

    public Guid TenantId => Tenant.Id;

    public string TenantName => Tenant.Name;

    internal TenantRow Tenant { get; }

    /// <summary>
    /// The full export: tenant, plan, overrides, users (password hashes only with <paramref name="secrets"/>), the custom-field
    /// definitions, customers, contacts, the pipeline, deals, activities, audit chain; signed with <paramref name="secrets"/>.
    /// </summary>
    public async Task<BundleResult> WriteExportAsync(Stream output, bool secrets, CancellationToken cancellationToken = default)
    {
        await using var bundle = new BundleWriter(output, BundleFormat.Export, _at, secrets, secrets ? _signer : null);
        var overrides = await WriteHeadAsync(bundle, cancellationToken);
        var users = await WriteUsersAsync(bundle, secrets, cancellationToken);
        await WriteCustomFieldsAsync(bundle, cancellationToken);
        var customers = await WriteRecordsAsync(bundle, RecordSections.Customers, cancellationToken);
        var contacts = await WriteRecordsAsync(bundle, RecordSections.Contacts, cancellationToken);
        await WritePipelineAsync(bundle, cancellationToken);
        var deals = await WriteRecordsAsync(bundle, RecordSections.Deals, cancellationToken);
        var activities = await WriteRecordsAsync(bundle, RecordSections.Activities, cancellationToken);

        AuditCheckpoint? checkpoint = null;
        await using (var read = Command("SELECT seq, hash FROM audit_checkpoints WHERE tenant_id = $1", Tenant.Id))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                checkpoint = new AuditCheckpoint(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1));
            }
        }

        bundle.WriteCheckpoint(checkpoint);
        var (entries, seq, hash) = await WriteAuditAsync(bundle, checkpoint?.Seq ?? 0, checkpoint?.Hash ?? AuditChain.Genesis, cancellationToken);
        return await bundle.FinishAsync(
            new BundleCounts(users, customers, 0, contacts, 0, deals, 0, activities, 0, overrides, entries), seq, hash, cancellationToken);
    }

    /// <summary>
    /// Whether an increment can continue from <paramref name="since"/>: the chain must still hold that entry (or start
    /// right after it at a checkpoint) with that hash; otherwise the tenant was restored or pruned since, and needs a full export.
    /// </summary>
    internal async Task<bool> CanContinueFromAsync(BundleBase since, CancellationToken cancellationToken = default)
    {
        if (since.AuditSeq == 0)
        {
            await using var empty = Command(
                "SELECT NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = $1)", Tenant.Id);
            return since.AuditHash.AsSpan().SequenceEqual(AuditChain.Genesis) && (bool)(await empty.ExecuteScalarAsync(cancellationToken))!;
        }

        await using var read = Command(
            """
            SELECT hash FROM audit_logs WHERE tenant_id = $1 AND seq = $2
            UNION ALL SELECT hash FROM audit_checkpoints WHERE tenant_id = $1 AND seq = $2
            """,
            Tenant.Id, since.AuditSeq);
        return await read.ExecuteScalarAsync(cancellationToken) is byte[] hash && hash.AsSpan().SequenceEqual(since.AuditHash);
    }

    /// <summary>
    /// The changes since <paramref name="since"/>: tenant row, plan, overrides, users, the custom-field definitions and the
    /// pipeline in full (they are small), the customers, contacts, deals and activities changed since (upserts) and removed since (deletions), and the audit
    /// entries after it.
    /// Which records changed comes from the audit chain: every record write commits its entry in the same transaction,
    /// and entries commit in seq order, so "seq after the previous backup's head" misses nothing (a timestamp cursor
    /// could: a row's updated_at is taken before its commit).
    /// </summary>
    internal async Task<BundleResult> WriteIncrementAsync(Stream output, BundleBase since, CancellationToken cancellationToken = default)
    {
        await using var bundle = new BundleWriter(output, BundleFormat.Increment, _at, secrets: true, _signer);
        bundle.WriteBase(since);
        var overrides = await WriteHeadAsync(bundle, cancellationToken);
        var users = await WriteUsersAsync(bundle, secrets: true, cancellationToken);
        await WriteCustomFieldsAsync(bundle, cancellationToken);
        var customers = await WriteChangedRecordsAsync(bundle, RecordSections.Customers, since.AuditSeq, cancellationToken);
        var contacts = await WriteChangedRecordsAsync(bundle, RecordSections.Contacts, since.AuditSeq, cancellationToken);
        await WritePipelineAsync(bundle, cancellationToken);
        var deals = await WriteChangedRecordsAsync(bundle, RecordSections.Deals, since.AuditSeq, cancellationToken);
        var activities = await WriteChangedRecordsAsync(bundle, RecordSections.Activities, since.AuditSeq, cancellationToken);
        var (entries, seq, hash) = await WriteAuditAsync(bundle, since.AuditSeq, since.AuditHash, cancellationToken);
        return await bundle.FinishAsync(
            new BundleCounts(users, customers.Rows, customers.Deleted, contacts.Rows, contacts.Deleted, deals.Rows, deals.Deleted, activities.Rows,
                activities.Deleted, overrides, entries),
            seq, hash, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }

    private async Task<long> WriteHeadAsync(BundleWriter bundle, CancellationToken cancellationToken)
    {
        bundle.WriteTenant(Tenant);
        long overrides = 0;
        bundle.Json.WriteStartArray("overrides");
        await using (var read = Command(
            "SELECT quota, value, expires_at, reason, created_at FROM tenant_quota_overrides WHERE tenant_id = $1 ORDER BY quota", Tenant.Id))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                bundle.WriteOverride(new OverrideRow(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
                overrides++;
            }
        }

        bundle.Json.WriteEndArray();
        return overrides;
    }

    private async Task<long> WriteUsersAsync(BundleWriter bundle, bool secrets, CancellationToken cancellationToken)
    {
        long users = 0;
        bundle.Json.WriteStartArray("users");
        await using (var read = Command(
            """
            SELECT id, email, name, role, disabled, failed_logins, locked_until, created_at, updated_at, password_hash
            FROM users WHERE tenant_id = $1 ORDER BY id
            """,
            Tenant.Id))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                bundle.WriteUser(new UserRow(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetBoolean(4),
                    reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7),
                    reader.GetFieldValue<DateTimeOffset>(8), reader.GetString(9)), secrets);
                users++;
                await bundle.MaybeFlushAsync(cancellationToken);
            }
        }

        bundle.Json.WriteEndArray();
        return users;
    }

    /// <summary>
    /// The tenant's custom-field definitions of every record type in their order, before the records whose values they
    /// govern (a restore checks each record's values against them as it reads it).
    /// </summary>
    private async Task WriteCustomFieldsAsync(BundleWriter bundle, CancellationToken cancellationToken)
    {
        var definitions = CustomFieldRecordTypes.All.ToDictionary(t => t, _ => new List<CustomFieldDefinition>(), StringComparer.Ordinal);
        await using (var read = Command(
            "SELECT record_type, key, label, type, options, required FROM custom_field_definitions WHERE tenant_id = $1 ORDER BY record_type, position, key",
            Tenant.Id))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                definitions[reader.GetString(0)].Add(new CustomFieldDefinition(reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.GetFieldValue<string[]>(4), reader.GetBoolean(5)));
            }
        }

        bundle.WriteCustomFields(definitions.ToDictionary(d => d.Key, d => (IReadOnlyList<CustomFieldDefinition>)d.Value, StringComparer.Ordinal));
    }

    /// <summary>
    /// The tenant's whole stage list in its order, before the deals that refer to it; empty for a tenant that never used
    /// the pipeline (its default stages are created on first use, after a restore too).
    /// </summary>
    private async Task WritePipelineAsync(BundleWriter bundle, CancellationToken cancellationToken)
    {
        bundle.Json.WriteStartArray("pipeline");
        await using (var read = Command("SELECT id, name, kind, probability FROM pipeline_stages WHERE tenant_id = $1 ORDER BY position, id", Tenant.Id))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                bundle.WriteStage(new PipelineStage(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3)));
            }
        }

        bundle.Json.WriteEndArray();
    }

    private async Task<(long Entries, long Seq, byte[] Hash)> WriteAuditAsync(BundleWriter bundle, long afterSeq, byte[] afterHash, CancellationToken cancellationToken)
    {
        long entries = 0;
        var seq = afterSeq;
        var hash = afterHash;
        bundle.Json.WriteStartArray("auditLogs");
        await using (var read = Command($"SELECT {AuditQueryGrain.Columns} FROM audit_logs WHERE tenant_id = $1 AND seq > $2 ORDER BY seq", Tenant.Id, afterSeq))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var entry = AuditQueryGrain.Read(reader);
                bundle.WriteAudit(entry);
                (seq, hash) = (entry.Seq, entry.Hash);
                entries++;
                await bundle.MaybeFlushAsync(cancellationToken);
            }
        }

        bundle.Json.WriteEndArray();
        return (entries, seq, hash);
    }

    /// <summary>Every row of a record section, by id.</summary>
    private async Task<long> WriteRecordsAsync<T>(BundleWriter bundle, RecordSection<T> section, CancellationToken cancellationToken)
        where T : class, IRecordDetails
    {
        long rows = 0;
        bundle.Json.WriteStartArray(section.Key);
        await using (var read = Command($"SELECT {section.Type.Columns} FROM {section.Type.Table} WHERE tenant_id = $1 ORDER BY id", Tenant.Id))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                section.Write(bundle, (T)section.Type.Read(reader));
                rows++;
                await bundle.MaybeFlushAsync(cancellationToken);
            }
        }

        bundle.Json.WriteEndArray();
        return rows;
    }

    /// <summary>
    /// A record section's rows with an audit entry after <paramref name="afterSeq"/> that still exist (upserts), then the
    /// ids of those that no longer do (deletions).
    /// </summary>
    private async Task<(long Rows, long Deleted)> WriteChangedRecordsAsync<T>(BundleWriter bundle, RecordSection<T> section, long afterSeq,
        CancellationToken cancellationToken)
        where T : class, IRecordDetails
    {
        long rows = 0;
        var deleted = new List<Guid>();
        bundle.Json.WriteStartArray(section.Key);
        // The row's columns first, so the record type's own reader reads them; the changed id last, for the removed ones.
        await using (var read = Command(
            $$"""
            WITH changed AS (
                SELECT DISTINCT target_id::uuid AS id FROM audit_logs
                WHERE tenant_id = $1 AND seq > $2 AND target_type = $3 AND action LIKE $3 || '.%'
                  AND target_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            )
            SELECT r.*, changed.id
            FROM changed LEFT JOIN LATERAL (SELECT {{section.Type.Columns}} FROM {{section.Type.Table}} WHERE tenant_id = $1 AND id = changed.id) r ON true
            ORDER BY changed.id
            """,
            Tenant.Id, afterSeq, section.Type.Name))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (reader.IsDBNull(0))
                {
                    deleted.Add(reader.GetGuid(reader.FieldCount - 1));
                    continue;
                }

                section.Write(bundle, (T)section.Type.Read(reader));
                rows++;
                await bundle.MaybeFlushAsync(cancellationToken);
            }
        }

        bundle.Json.WriteEndArray();
        bundle.Json.WriteStartArray(section.DeletedKey);
        foreach (var id in deleted)
        {
            bundle.Json.WriteStringValue(id.ToString("D"));
            await bundle.MaybeFlushAsync(cancellationToken);
        }

        bundle.Json.WriteEndArray();
        return (rows, deleted.Count);
    }

    private NpgsqlCommand Command(string sql, params object[] parameters)
    {
        var command = new NpgsqlCommand(sql, _connection, _transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }
}
