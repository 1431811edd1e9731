using System.Security.Cryptography;
using Npgsql;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Backups;

/// <summary>The chain's continuity and the restore's helper functions, checked in SQL as the runtime role.</summary>
public sealed class AuditContinuityTests
{
    [Fact]
    public async Task AnEntryThatDoesNotFollowTheHeadIsRefusedLikeATakenSeq()
    {
        await using var session = await TenantSessionAsync(Guid.NewGuid());
        var first = RandomNumberGenerator.GetBytes(32);
        await InsertAsync(session, 1, new byte[32], first);

        var wrongPrevious = () => InsertAsync(session, 2, RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));
        var gap = () => InsertAsync(session, 3, first, RandomNumberGenerator.GetBytes(32));
        var wrongGenesis = () => InsertAsync(session, 1, RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));

        foreach (var refused in new[] { wrongPrevious, gap, wrongGenesis })
        {
            var error = (await refused.Should().ThrowAsync<PostgresException>()).Which;
            error.SqlState.Should().Be(PostgresErrorCodes.UniqueViolation);
            error.ConstraintName.Should().Be("audit_logs_pkey");
        }

        await InsertAsync(session, 2, first, RandomNumberGenerator.GetBytes(32));
    }

    [Fact]
    public async Task ARestoredCheckpointStartsOnlyAChainThatDoesNotExistYet()
    {
        await using var session = await TenantSessionAsync(Guid.NewGuid());
        var checkpoint = RandomNumberGenerator.GetBytes(32);
        await AllowCheckpointAsync(session, 41L, checkpoint);

        await Execute(session, "SELECT audit_restore_checkpoint($1, $2)", 41L, checkpoint);
        await InsertAsync(session, 42, checkpoint, RandomNumberGenerator.GetBytes(32));
        await AllowCheckpointAsync(session, 50L, checkpoint);
        var again = () => Execute(session, "SELECT audit_restore_checkpoint($1, $2)", 50L, checkpoint);

        await again.Should().ThrowAsync<PostgresException>();
    }

    [Fact]
    public async Task TheAlertsOfATenantThatStillExistsCannotBePurged()
    {
        var tenant = Guid.NewGuid();
        var database = await TestDatabase.SharedAsync();
        await using (var owner = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await owner.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO tenants (id, name, contact_email, plan, status, created_at, status_changed_at, updated_at) VALUES ($1, 't', 'c@t.test', 'pro', 'active', now(), now(), now())",
                owner);
            insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
            await insert.ExecuteNonQueryAsync();
        }

        await using var session = await TenantSessionAsync(tenant);

        var purge = () => Execute(session, "SELECT alerts_purge_tenant()");

        await purge.Should().ThrowAsync<PostgresException>();
    }

    /// <summary>The owner's permission for the session's transaction, as the restorer issues it for a verified export.</summary>
    private static async Task AllowCheckpointAsync(Session session, long seq, byte[] hash)
    {
        await using var xid = new NpgsqlCommand("SELECT txid_current()", session.Connection, session.Transaction);
        var transactionId = (long)(await xid.ExecuteScalarAsync())!;
        await using var owner = new NpgsqlConnection((await TestDatabase.SharedAsync()).AdminConnectionString);
        await owner.OpenAsync();
        await using var grant = new NpgsqlCommand(
            "INSERT INTO audit_maintenance_grants (xid, tenant_id, operation, seq, hash) VALUES ($1, $2, 'checkpoint', $3, $4)", owner);
        grant.Parameters.Add(new NpgsqlParameter { Value = transactionId });
        grant.Parameters.Add(new NpgsqlParameter { Value = session.Tenant });
        grant.Parameters.Add(new NpgsqlParameter { Value = seq });
        grant.Parameters.Add(new NpgsqlParameter { Value = hash });
        await grant.ExecuteNonQueryAsync();
    }

    private static Task InsertAsync(Session session, long seq, byte[] previous, byte[] hash) => Execute(session,
        "INSERT INTO audit_logs (tenant_id, seq, id, created_at, action, outcome, prev_hash, hash) VALUES ($1, $2, $3, now(), 'test', 'success', $4, $5)",
        session.Tenant, seq, Guid.NewGuid(), previous, hash);

    private static async Task Execute(Session session, string sql, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, session.Connection, session.Transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await session.Transaction.SaveAsync("statement");
        try
        {
            await command.ExecuteNonQueryAsync();
            await session.Transaction.ReleaseAsync("statement");
        }
        catch (PostgresException)
        {
            await session.Transaction.RollbackAsync("statement");
            throw;
        }
    }

    /// <summary>A transaction as the runtime role with the tenant set; each statement in a savepoint so a refusal does not end it.</summary>
    private static async Task<Session> TenantSessionAsync(Guid tenant)
    {
        var database = await TestDatabase.SharedAsync();
        var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        var session = new Session(connection, transaction, tenant);
        await Execute(session, "SELECT set_config('app.tenant_id', $1, true)", tenant.ToString());
        return session;
    }

    private sealed record Session(NpgsqlConnection Connection, NpgsqlTransaction Transaction, Guid Tenant) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}
