using Npgsql;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

/// <summary>Layer 3 of tenant isolation, checked in SQL as the runtime role the application connects as.</summary>
public sealed class RowLevelSecurityTests
{
    [Fact]
    public async Task EveryTableWithATenantIdHasRowLevelSecurityEnabledForcedAndAPolicy()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();

        var tables = new List<(string Name, bool Enabled, bool Forced, long Policies)>();
        await using (var read = new NpgsqlCommand(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
            """,
            connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add((reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetInt64(3)));
            }
        }

        tables.Select(t => t.Name).Should().Contain(["users", "refresh_tokens", "customers", "contacts", "api_keys", "support_sessions", "tenant_settings"]);
        tables.Should().AllSatisfy(t =>
        {
            t.Enabled.Should().BeTrue($"{t.Name} must ENABLE ROW LEVEL SECURITY");
            t.Forced.Should().BeTrue($"{t.Name} must FORCE ROW LEVEL SECURITY");
            t.Policies.Should().BePositive($"{t.Name} needs a tenant policy");
        });
    }

    [Fact]
    public async Task WithNoTenantSetTheRuntimeRoleSeesNoTenantRows()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, _) = await SeedTwoTenantsAsync(database);

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();

        foreach (var table in new[] { "users", "customers", "refresh_tokens" })
        {
            await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
            (await count.ExecuteScalarAsync()).Should().Be(0L, table);
        }

        await using var direct = new NpgsqlCommand($"SELECT count(*) FROM customers WHERE tenant_id = '{a}'", connection);
        (await direct.ExecuteScalarAsync()).Should().Be(0L);
    }

    [Fact]
    public async Task TenantACannotSelectUpdateDeleteOrInsertTenantBsRows()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = await SeedTwoTenantsAsync(database);
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{a}', true)");

        var seen = await Scalar(connection, $"SELECT count(*) FROM customers WHERE tenant_id = '{b}'");
        var own = await Scalar(connection, "SELECT count(*) FROM customers");
        var updated = await Execute(connection, $"UPDATE customers SET name = 'pwned' WHERE tenant_id = '{b}'");
        var deleted = await Execute(connection, $"DELETE FROM customers WHERE tenant_id = '{b}'");
        var insert = () => Execute(connection,
            $"INSERT INTO customers (tenant_id, id, name, status, created_at, updated_at, version) VALUES ('{b}', gen_random_uuid(), 'planted', 'lead', now(), now(), 1)");

        seen.Should().Be(0L);
        own.Should().Be(1L);
        updated.Should().Be(0);
        deleted.Should().Be(0);
        (await insert.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        await transaction.RollbackAsync();
        await using var check = new NpgsqlConnection(database.SuperuserConnectionString);
        await check.OpenAsync();
        (await Scalar(check, $"SELECT count(*) FROM customers WHERE tenant_id = '{b}' AND name = 'b-customer'")).Should().Be(1L);
    }

    [Fact]
    public async Task TheTenantSettingDiesWithItsTransactionSoAPooledConnectionForgetsIt()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, _) = await SeedTwoTenantsAsync(database);
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, $"SELECT set_config('app.tenant_id', '{a}', true)");
            (await Scalar(connection, "SELECT count(*) FROM customers")).Should().Be(1L);
            await transaction.CommitAsync();
        }

        (await Scalar(connection, "SELECT count(*) FROM customers")).Should().Be(0L);
    }

    [Fact]
    public async Task TheRuntimeRoleCannotTurnRowLevelSecurityOff()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();

        var disable = () => Execute(connection, "ALTER TABLE customers DISABLE ROW LEVEL SECURITY");

        (await disable.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
    }

    [Theory]
    [InlineData("UPDATE audit_logs SET action = 'x'")]
    [InlineData("DELETE FROM audit_logs")]
    [InlineData("TRUNCATE audit_logs")]
    [InlineData("DELETE FROM audit_checkpoints")]
    public async Task TheRuntimeRoleCannotRewriteOrEraseTheAuditLog(string sql)
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();

        var tamper = () => Execute(connection, sql);

        (await tamper.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
    }

    [Fact]
    public async Task TheRuntimeRoleCannotPurgeTheLogOfATenantThatStillExists()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        await using (var owner = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await owner.OpenAsync();
            await Execute(owner, $"INSERT INTO tenants (id, name, contact_email, plan, status, created_at, status_changed_at, updated_at) VALUES ('{tenant}', 't', 'c@t.test', 'pro', 'active', now(), now(), now())");
        }

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{tenant}', true)");

        var purge = () => Scalar(connection, "SELECT audit_purge_tenant()");

        await purge.Should().ThrowAsync<PostgresException>();
    }

    [Fact]
    public async Task TheRuntimeRoleCannotPruneAuditEntriesYoungerThanADay()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{Guid.NewGuid()}', true)");

        var pruneRecent = () => Scalar(connection, "SELECT audit_prune(now() - interval '1 hour')");

        await pruneRecent.Should().ThrowAsync<PostgresException>();
    }

    [Fact]
    public async Task TheRuntimeRoleSeesOnlyItsTenantsApiKeysAndFindsAKeyOnlyByTheHashOfItsSecret()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var (keyA, keyB) = (Guid.NewGuid(), Guid.NewGuid());
        var (hashA, hashB) = (System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using (var seed = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await seed.OpenAsync();
            foreach (var (tenant, key, hash) in new[] { (a, keyA, hashA), (b, keyB, hashB) })
            {
                await Execute(seed,
                    $"INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash, created_at) VALUES ('{tenant}', '{key}', 'k', 'member', 'shy_abcdefgh', '\\x{Convert.ToHexString(hash)}', now())");
            }
        }

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        var unset = await Scalar(connection, $"SELECT count(*) FROM api_keys WHERE id IN ('{keyA}', '{keyB}')");
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{a}', true)");
        var seen = await Scalar(connection, $"SELECT count(*) FROM api_keys WHERE id IN ('{keyA}', '{keyB}')");
        var revokedOther = await Execute(connection, $"UPDATE api_keys SET revoked_at = now() WHERE id = '{keyB}'");
        // The directory function answers across tenants, but only for the exact hash, and returns no hash.
        await using var find = new NpgsqlCommand("SELECT * FROM api_key_find($1)", connection) { Parameters = { new() { Value = hashB } } };
        var columns = new List<string>();
        Guid? found = null;
        await using (var reader = await find.ExecuteReaderAsync())
        {
            columns.AddRange(Enumerable.Range(0, reader.FieldCount).Select(reader.GetName));
            while (await reader.ReadAsync())
            {
                found = reader.GetGuid(reader.GetOrdinal("id"));
            }
        }

        await using var wrong = new NpgsqlCommand("SELECT count(*) FROM api_key_find($1)", connection) { Parameters = { new() { Value = new byte[32] } } };
        var wrongCount = await wrong.ExecuteScalarAsync();

        unset.Should().Be(0L, "with no tenant set the runtime role sees no key");
        seen.Should().Be(1L, "tenant A sees its own key only");
        revokedOther.Should().Be(0, "tenant A cannot revoke tenant B's key");
        found.Should().Be(keyB);
        columns.Should().NotContain("secret_hash");
        wrongCount.Should().Be(0L);
        await transaction.RollbackAsync();
    }

    [Fact]
    public async Task TenantACannotReadChangeOrPlantContactsOfTenantBNorLinkItsContactToBsCustomer()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = await SeedTwoTenantsAsync(database);
        Guid aCustomer, bCustomer;
        await using (var seed = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await seed.OpenAsync();
            aCustomer = (Guid)(await Scalar(seed, $"SELECT id FROM customers WHERE tenant_id = '{a}'"))!;
            bCustomer = (Guid)(await Scalar(seed, $"SELECT id FROM customers WHERE tenant_id = '{b}'"))!;
            foreach (var (tenant, customer) in new[] { (a, aCustomer), (b, bCustomer) })
            {
                await Execute(seed,
                    $"INSERT INTO contacts (tenant_id, id, last_name, customer_id, created_at, updated_at, version) VALUES ('{tenant}', gen_random_uuid(), 'contact', '{customer}', now(), now(), 1)");
            }
        }

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{a}', true)");

        var seen = await Scalar(connection, $"SELECT count(*) FROM contacts WHERE tenant_id = '{b}'");
        var own = await Scalar(connection, "SELECT count(*) FROM contacts");
        var updated = await Execute(connection, $"UPDATE contacts SET last_name = 'pwned' WHERE tenant_id = '{b}'");
        var deleted = await Execute(connection, $"DELETE FROM contacts WHERE tenant_id = '{b}'");
        await Execute(connection, "SAVEPOINT probe");
        var plant = () => Execute(connection,
            $"INSERT INTO contacts (tenant_id, id, last_name, created_at, updated_at, version) VALUES ('{b}', gen_random_uuid(), 'planted', now(), now(), 1)");
        (await plant.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        await Execute(connection, "ROLLBACK TO SAVEPOINT probe");
        // The foreign key names the tenant too: A's contact cannot point at B's customer, whatever its id.
        var link = () => Execute(connection,
            $"INSERT INTO contacts (tenant_id, id, last_name, customer_id, created_at, updated_at, version) VALUES ('{a}', gen_random_uuid(), 'linked', '{bCustomer}', now(), now(), 1)");
        (await link.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.ForeignKeyViolation);

        seen.Should().Be(0L);
        own.Should().Be(1L);
        updated.Should().Be(0);
        deleted.Should().Be(0);
        await transaction.RollbackAsync();
        await using var check = new NpgsqlConnection(database.SuperuserConnectionString);
        await check.OpenAsync();
        (await Scalar(check, $"SELECT count(*) FROM contacts WHERE tenant_id = '{b}' AND last_name = 'contact'")).Should().Be(1L);
    }

    private static async Task<(Guid A, Guid B)> SeedTwoTenantsAsync(TestDatabase database)
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        foreach (var (tenant, name) in new[] { (a, "a-customer"), (b, "b-customer") })
        {
            await Execute(connection,
                $"INSERT INTO customers (tenant_id, id, name, status, created_at, updated_at, version) VALUES ('{tenant}', gen_random_uuid(), '{name}', 'lead', now(), now(), 1)");
        }

        return (a, b);
    }

    private static async Task<int> Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
