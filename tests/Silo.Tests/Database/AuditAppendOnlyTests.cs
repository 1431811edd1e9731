using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shohayota.Silo.Database;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

/// <summary>
/// The audit log the application cannot rewrite, checked in SQL as the runtime role: every way it had to erase, shorten or
/// restart a chain is refused; only the owner connection's permission for one transaction opens the purge and the checkpoint.
/// </summary>
public sealed class AuditAppendOnlyTests
{
    [Theory]
    [InlineData("UPDATE audit_logs SET action = 'x'")]
    [InlineData("DELETE FROM audit_logs")]
    [InlineData("TRUNCATE audit_logs")]
    [InlineData("UPDATE audit_checkpoints SET seq = 1")]
    [InlineData("DELETE FROM audit_checkpoints")]
    [InlineData("TRUNCATE audit_checkpoints")]
    [InlineData("INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) VALUES (gen_random_uuid(), 1, '\\x00', now())")]
    [InlineData("UPDATE audit_anchors SET hash = '\\x00'")]
    [InlineData("DELETE FROM audit_anchors")]
    [InlineData("TRUNCATE audit_anchors")]
    [InlineData("INSERT INTO audit_anchors (tenant_id, seq, hash, anchored_at, reason) VALUES (gen_random_uuid(), 1, '\\x00', now(), 'x')")]
    [InlineData("SELECT * FROM audit_settings")]
    [InlineData("UPDATE audit_settings SET retention_days = 2")]
    [InlineData("SELECT * FROM audit_maintenance_grants")]
    [InlineData("INSERT INTO audit_maintenance_grants (xid, tenant_id, operation) VALUES (txid_current(), gen_random_uuid(), 'purge')")]
    [InlineData("SELECT audit_take_grant(gen_random_uuid(), 'purge', NULL, NULL)")]
    public async Task TheRuntimeRoleCanOnlyAppendToTheAuditTables(string sql)
    {
        await using var session = await SessionAsync(Guid.NewGuid());

        var tamper = () => session.ExecuteAsync(sql);

        (await tamper.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
    }

    [Fact]
    public async Task DeletingATenantRowLeavesItsChainAndDoesNotLetTheRuntimeRolePurgeIt()
    {
        var tenant = await RegisteredTenantAsync();
        await using (var session = await SessionAsync(tenant))
        {
            await AppendAsync(session, 3);
            await session.CommitAsync();
        }

        int deleted;
        await using (var session = await SessionAsync(tenant))
        {
            deleted = await session.ExecuteAsync("DELETE FROM tenants WHERE id = $1", tenant);
            await session.CommitAsync();
        }

        await using var again = await SessionAsync(tenant);
        var purge = () => again.ExecuteAsync("SELECT audit_purge_tenant()");

        deleted.Should().Be(1);
        (await purge.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        (await CountEntriesAsync(tenant)).Should().Be(3);
    }

    [Fact]
    public async Task ThePurgeOfAnUnregisteredTenantsChainNeedsTheOwnersPermissionForThatTransaction()
    {
        var tenant = Guid.NewGuid();
        await using (var session = await SessionAsync(tenant))
        {
            await AppendAsync(session, 2);
            await session.CommitAsync();
        }

        await using var other = await SessionAsync(tenant);
        await using var session2 = await SessionAsync(tenant);
        await GrantAsync(await other.XidAsync(), tenant, "purge", null, null);

        var withoutPermission = () => session2.ExecuteAsync("SELECT audit_purge_tenant()");
        (await withoutPermission.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        await GrantAsync(await session2.XidAsync(), tenant, "purge", null, null);
        var purged = await session2.ScalarAsync("SELECT audit_purge_tenant()");

        purged.Should().Be(2L);
    }

    [Theory]
    [InlineData("now() - interval '2 days'")]
    [InlineData("now() - interval '399 days'")]
    public async Task TheRuntimeRoleCannotPruneInsideTheStoredRetentionWhateverCutoffItPasses(string cutoff)
    {
        var tenant = Guid.NewGuid();
        await using var session = await SessionAsync(tenant);
        await AppendAsync(session, 3, DateTimeOffset.UtcNow.AddDays(-30));

        var prune = () => session.ExecuteAsync($"SELECT audit_prune({cutoff})");

        (await prune.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
    }

    [Fact]
    public async Task ABackdatedEntryDoesNotLetThePruneTakeTheYoungerEntriesBeforeIt()
    {
        var tenant = Guid.NewGuid();
        await using var session = await SessionAsync(tenant);
        var head = await AppendAsync(session, 3);
        head = await AppendAsync(session, 1, DateTimeOffset.UtcNow.AddDays(-500), after: head);
        await AppendAsync(session, 1, after: head);

        var pruned = await session.ScalarAsync("SELECT audit_prune(now() - interval '401 days')");

        pruned.Should().Be(0L);
        (await session.ScalarAsync("SELECT count(*) FROM audit_logs")).Should().Be(5L);
    }

    [Fact]
    public async Task ARestoredCheckpointNeedsTheOwnersPermissionForExactlyThatSeqAndHash()
    {
        var tenant = Guid.NewGuid();
        var vouched = RandomNumberGenerator.GetBytes(32);
        await using var other = await SessionAsync(tenant);
        await using var session = await SessionAsync(tenant);
        await GrantAsync(await other.XidAsync(), tenant, "checkpoint", 41, vouched);

        var unvouched = () => session.ExecuteAsync("SELECT audit_restore_checkpoint($1, $2)", 41L, vouched);
        (await unvouched.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        await GrantAsync(await session.XidAsync(), tenant, "checkpoint", 41, vouched);
        var otherHash = () => session.ExecuteAsync("SELECT audit_restore_checkpoint($1, $2)", 41L, RandomNumberGenerator.GetBytes(32));
        var otherSeq = () => session.ExecuteAsync("SELECT audit_restore_checkpoint($1, $2)", 40L, vouched);
        (await otherHash.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        (await otherSeq.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        await session.ExecuteAsync("SELECT audit_restore_checkpoint($1, $2)", 41L, vouched);
        var twice = () => session.ExecuteAsync("SELECT audit_restore_checkpoint($1, $2)", 41L, vouched);

        await twice.Should().ThrowAsync<PostgresException>();
        (await session.ScalarAsync("SELECT seq FROM audit_checkpoints")).Should().Be(41L);
    }

    [Fact]
    public async Task AnchoringRecordsTheHeadsTheDatabaseReadsAndEachHeadOnce()
    {
        var tenant = await RegisteredTenantAsync();
        byte[] head;
        await using (var session = await SessionAsync(tenant))
        {
            head = await AppendAsync(session, 4);
            await session.CommitAsync();
        }

        await using var anchor = await SessionAsync(Guid.Empty);
        await anchor.ExecuteAsync("SELECT audit_anchor_heads('test')");
        await anchor.ExecuteAsync("SELECT audit_anchor_heads('test again')");
        await anchor.CommitAsync();

        await using var read = await SessionAsync(tenant);
        (await read.ScalarAsync("SELECT count(*) FROM audit_anchors")).Should().Be(1L);
        (await read.ScalarAsync("SELECT seq FROM audit_anchors")).Should().Be(4L);
        ((byte[])(await read.ScalarAsync("SELECT hash FROM audit_anchors"))!).Should().Equal(head);
    }

    [Fact]
    public async Task TheConfiguredRetentionIsTheFloorThePruneEnforces()
    {
        await using var database = await TestDatabase.StartAsync();
        var configuration = new ConfigurationManager();
        configuration["ConnectionStrings:Shohayota"] = database.AppConnectionString;
        configuration["ConnectionStrings:ShohayotaAdmin"] = database.AdminConnectionString;
        configuration["Shohayota:Audit:RetentionDays"] = "30";

        await DatabaseSetup.PrepareAsync(configuration, NullLoggerFactory.Instance);
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var set = new NpgsqlCommand($"SELECT set_config('app.tenant_id', '{Guid.NewGuid()}', true)", connection))
        {
            await set.ExecuteNonQueryAsync();
        }

        await using var outside = new NpgsqlCommand("SELECT audit_prune(now() - interval '31 days')", connection);
        (await outside.ExecuteScalarAsync()).Should().Be(0L);
        await using var inside = new NpgsqlCommand("SELECT audit_prune(now() - interval '29 days')", connection);
        (await FluentActions.Awaiting(() => inside.ExecuteScalarAsync()).Should().ThrowAsync<PostgresException>())
            .Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
    }

    private static async Task<Guid> RegisteredTenantAsync()
    {
        var tenant = Guid.NewGuid();
        await using var owner = new NpgsqlConnection((await TestDatabase.SharedAsync()).SuperuserConnectionString);
        await owner.OpenAsync();
        await using var insert = new NpgsqlCommand(
            "INSERT INTO tenants (id, name, contact_email, plan, status, created_at, status_changed_at, updated_at) VALUES ($1, 't', 'c@t.test', 'pro', 'canceled', now(), now(), now())",
            owner);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        await insert.ExecuteNonQueryAsync();
        return tenant;
    }

    /// <summary>What the owner connection issues (AuditMaintenance): a permission for one transaction id.</summary>
    private static async Task GrantAsync(long xid, Guid tenant, string operation, long? seq, byte[]? hash)
    {
        await using var owner = new NpgsqlConnection((await TestDatabase.SharedAsync()).AdminConnectionString);
        await owner.OpenAsync();
        await using var insert = new NpgsqlCommand("INSERT INTO audit_maintenance_grants (xid, tenant_id, operation, seq, hash) VALUES ($1, $2, $3, $4, $5)", owner);
        insert.Parameters.Add(new NpgsqlParameter { Value = xid });
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = operation });
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)seq ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)hash ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountEntriesAsync(Guid tenant)
    {
        await using var superuser = new NpgsqlConnection((await TestDatabase.SharedAsync()).SuperuserConnectionString);
        await superuser.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM audit_logs WHERE tenant_id = $1", superuser);
        count.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>Appends entries that continue the chain (the trigger checks seq and prev_hash); returns the new head's hash.</summary>
    private static async Task<byte[]> AppendAsync(Session session, int count, DateTimeOffset? at = null, byte[]? after = null)
    {
        var seq = (long)(await session.ScalarAsync("SELECT coalesce(max(seq), 0) FROM audit_logs"))!;
        var head = after ?? new byte[32];
        for (var i = 0; i < count; i++)
        {
            var hash = RandomNumberGenerator.GetBytes(32);
            await session.ExecuteAsync(
                "INSERT INTO audit_logs (tenant_id, seq, id, created_at, action, outcome, prev_hash, hash) VALUES ($1, $2, $3, $4, 'test', 'success', $5, $6)",
                session.Tenant, ++seq, Guid.NewGuid(), at ?? DateTimeOffset.UtcNow, head, hash);
            head = hash;
        }

        return head;
    }

    /// <summary>A transaction as the runtime role with the tenant set; each statement in a savepoint so a refusal does not end it.</summary>
    private static async Task<Session> SessionAsync(Guid tenant)
    {
        var connection = new NpgsqlConnection((await TestDatabase.SharedAsync()).AppConnectionString);
        await connection.OpenAsync();
        var session = new Session(connection, await connection.BeginTransactionAsync(), tenant);
        await session.ExecuteAsync("SELECT set_config('app.tenant_id', $1, true)", tenant.ToString());
        return session;
    }

    private sealed record Session(NpgsqlConnection Connection, NpgsqlTransaction Transaction, Guid Tenant) : IAsyncDisposable
    {
        public async Task<long> XidAsync() => (long)(await ScalarAsync("SELECT txid_current()"))!;

        public Task CommitAsync() => Transaction.CommitAsync();

        public async Task<int> ExecuteAsync(string sql, params object[] parameters)
        {
            await using var command = Command(sql, parameters);
            return await InSavepointAsync(() => command.ExecuteNonQueryAsync());
        }

        public async Task<object?> ScalarAsync(string sql, params object[] parameters)
        {
            await using var command = Command(sql, parameters);
            return await InSavepointAsync(() => command.ExecuteScalarAsync());
        }

        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }

        private NpgsqlCommand Command(string sql, object[] parameters)
        {
            var command = new NpgsqlCommand(sql, Connection, Transaction);
            foreach (var parameter in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = parameter });
            }

            return command;
        }

        private async Task<T> InSavepointAsync<T>(Func<Task<T>> work)
        {
            await Transaction.SaveAsync("statement");
            try
            {
                var result = await work();
                await Transaction.ReleaseAsync("statement");
                return result;
            }
            catch (PostgresException)
            {
                await Transaction.RollbackAsync("statement");
                throw;
            }
        }
    }
}
