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

        tables.Select(t => t.Name).Should().Contain(["users", "refresh_tokens", "customers", "contacts", "api_keys", "support_sessions", "tenant_settings",
            "pipeline_stages", "deals", "deal_contacts", "activities", "custom_field_definitions", "webhooks", "webhook_events", "webhook_deliveries"]);
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

        foreach (var table in new[] { "users", "customers", "refresh_tokens", "contacts", "pipeline_stages", "deals", "deal_contacts", "activities",
                     "custom_field_definitions" })
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
    public async Task TheRuntimeRoleSeesChangesAndPlantsOnlyItsTenantsWebhooksEventsAndDeliveries()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        await using (var seed = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await seed.OpenAsync();
            foreach (var tenant in new[] { a, b })
            {
                await Execute(seed,
                    $"""
                    INSERT INTO webhooks (tenant_id, id, url, events, active, secret_prefix, secret_enc, created_at, updated_at)
                    VALUES ('{tenant}', '{tenant}', 'https://hooks.example.com/', ARRAY['customer.created'], true, 'whsec_abcdef', '\x00', now(), now());
                    INSERT INTO webhook_events (tenant_id, id, seq, type, occurred_at, payload) VALUES ('{tenant}', '{tenant}', 1, 'customer.created', now(), json_build_object()::text);
                    INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_seq, record_key, status, next_attempt_at, created_at)
                    VALUES ('{tenant}', '{tenant}', '{tenant}', '{tenant}', 1, 'r', 'pending', now() + interval '1 day', now());
                    """);
            }
        }

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        var unset = await Scalar(connection, $"SELECT (SELECT count(*) FROM webhooks WHERE id IN ('{a}', '{b}')) + (SELECT count(*) FROM webhook_deliveries WHERE id IN ('{a}', '{b}'))");
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{a}', true)");
        var seen = await Scalar(connection,
            $"SELECT (SELECT count(*) FROM webhooks WHERE id IN ('{a}', '{b}')) + (SELECT count(*) FROM webhook_events WHERE id IN ('{a}', '{b}')) + (SELECT count(*) FROM webhook_deliveries WHERE id IN ('{a}', '{b}'))");
        var retargeted = await Execute(connection, $"UPDATE webhooks SET url = 'https://attacker.example/' WHERE id = '{b}'");
        var redelivered = await Execute(connection, $"UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = '{b}'");
        await Execute(connection, "SAVEPOINT plant");
        var plant = () => Execute(connection,
            $"""
            INSERT INTO webhooks (tenant_id, id, url, events, active, secret_prefix, secret_enc, created_at, updated_at)
            VALUES ('{b}', gen_random_uuid(), 'https://attacker.example/', ARRAY['customer.created'], true, 'whsec_abcdef', '\x00', now(), now())
            """);

        unset.Should().Be(0L, "with no tenant set the runtime role sees no webhook or delivery");
        seen.Should().Be(3L, "tenant A sees its own webhook, event and delivery only");
        retargeted.Should().Be(0, "tenant A cannot point tenant B's webhook elsewhere");
        redelivered.Should().Be(0);
        (await plant.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.InsufficientPrivilege,
            "tenant A cannot plant a webhook in tenant B (the policy's WITH CHECK)");
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

    [Fact]
    public async Task TenantACannotReadChangeOrPlantDealsStagesOrLinksOfTenantBNorLinkItsDealToBsRecords()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = await SeedTwoTenantsAsync(database);
        var rows = new Dictionary<Guid, (Guid Customer, Guid Contact, Guid Open, Guid Won, Guid Deal)>();
        await using (var seed = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await seed.OpenAsync();
            foreach (var tenant in new[] { a, b })
            {
                var (contact, open, won, deal) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
                var customer = (Guid)(await Scalar(seed, $"SELECT id FROM customers WHERE tenant_id = '{tenant}'"))!;
                await Execute(seed,
                    $"""
                    INSERT INTO contacts (tenant_id, id, last_name, customer_id, created_at, updated_at, version) VALUES ('{tenant}', '{contact}', 'contact', '{customer}', now(), now(), 1);
                    INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability) VALUES ('{tenant}', '{open}', 0, 'Lead', 'open', 10), ('{tenant}', '{won}', 1, 'Won', 'won', 100);
                    INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, created_at, updated_at, version)
                        VALUES ('{tenant}', '{deal}', 'deal', '{customer}', 10.5, 'EUR', '{open}', 'open', now(), now(), 1);
                    INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) VALUES ('{tenant}', '{deal}', '{contact}');
                    """);
                rows[tenant] = (customer, contact, open, won, deal);
            }
        }

        var (own, theirs) = (rows[a], rows[b]);
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{a}', true)");

        var seen = new Dictionary<string, object?>();
        foreach (var table in new[] { "deals", "pipeline_stages", "deal_contacts" })
        {
            seen[$"{table} of B"] = await Scalar(connection, $"SELECT count(*) FROM {table} WHERE tenant_id = '{b}'");
            seen[$"{table} by B's id"] = await Scalar(connection,
                $"SELECT count(*) FROM {table} WHERE {(table == "deal_contacts" ? "deal_id" : "id")} IN ('{theirs.Deal}', '{theirs.Open}', '{theirs.Won}')");
            seen[$"{table} own"] = await Scalar(connection, $"SELECT count(*) FROM {table}");
        }

        var changed = new Dictionary<string, int>
        {
            ["update deals"] = await Execute(connection, $"UPDATE deals SET name = 'pwned', amount = 0 WHERE tenant_id = '{b}'"),
            ["update stages"] = await Execute(connection, $"UPDATE pipeline_stages SET name = 'pwned' WHERE tenant_id = '{b}'"),
            ["update links"] = await Execute(connection, $"UPDATE deal_contacts SET contact_id = '{own.Contact}' WHERE tenant_id = '{b}'"),
            ["delete links"] = await Execute(connection, $"DELETE FROM deal_contacts WHERE tenant_id = '{b}'"),
            ["delete deals"] = await Execute(connection, $"DELETE FROM deals WHERE tenant_id = '{b}'"),
            ["delete stages"] = await Execute(connection, $"DELETE FROM pipeline_stages WHERE tenant_id = '{b}'"),
        };
        var planted = new[]
        {
            $"INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, created_at, updated_at, version) VALUES ('{b}', gen_random_uuid(), 'planted', '{theirs.Customer}', 1, 'EUR', '{theirs.Open}', 'open', now(), now(), 1)",
            $"INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability) VALUES ('{b}', gen_random_uuid(), 9, 'planted', 'open', 1)",
            $"INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) VALUES ('{b}', '{theirs.Deal}', '{own.Contact}')",
        };
        // The foreign keys name the tenant too: A's deal cannot point at B's customer, stage or contact, whatever ids it sends.
        var crossLinks = new[]
        {
            $"INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, created_at, updated_at, version) VALUES ('{a}', gen_random_uuid(), 'x', '{theirs.Customer}', 1, 'EUR', '{own.Open}', 'open', now(), now(), 1)",
            $"INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, created_at, updated_at, version) VALUES ('{a}', gen_random_uuid(), 'x', '{own.Customer}', 1, 'EUR', '{theirs.Open}', 'open', now(), now(), 1)",
            $"INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) VALUES ('{a}', '{own.Deal}', '{theirs.Contact}')",
            $"UPDATE deals SET customer_id = '{theirs.Customer}' WHERE id = '{own.Deal}'",
            $"UPDATE deals SET stage_id = '{theirs.Won}', status = 'won', closed_at = now() WHERE id = '{own.Deal}'",
            // Not even within the tenant: the status is the stage's kind.
            $"UPDATE deals SET stage_id = '{own.Won}' WHERE id = '{own.Deal}'",
        };
        var refusals = new List<string>();
        foreach (var (sql, expected) in planted.Select(p => (p, PostgresErrorCodes.InsufficientPrivilege)).Concat(crossLinks.Select(c => (c, PostgresErrorCodes.ForeignKeyViolation))))
        {
            await Execute(connection, "SAVEPOINT probe");
            try
            {
                await Execute(connection, sql);
                refusals.Add($"accepted: {sql}");
            }
            catch (PostgresException e) when (e.SqlState == expected)
            {
            }
            catch (PostgresException e)
            {
                refusals.Add($"{e.SqlState} instead of {expected}: {sql}");
            }

            await Execute(connection, "ROLLBACK TO SAVEPOINT probe");
        }

        seen.Where(s => !s.Key.EndsWith(" own", StringComparison.Ordinal)).Should().OnlyContain(s => Equals(s.Value, 0L));
        seen["deals own"].Should().Be(1L);
        seen["pipeline_stages own"].Should().Be(2L);
        seen["deal_contacts own"].Should().Be(1L);
        changed.Should().OnlyContain(c => c.Value == 0);
        refusals.Should().BeEmpty();
        await transaction.RollbackAsync();
        await using var check = new NpgsqlConnection(database.SuperuserConnectionString);
        await check.OpenAsync();
        (await Scalar(check,
            $"SELECT (SELECT count(*) FROM deals WHERE tenant_id = '{b}' AND name = 'deal' AND amount = 10.5) + (SELECT count(*) FROM pipeline_stages WHERE tenant_id = '{b}' AND name <> 'pwned') + (SELECT count(*) FROM deal_contacts WHERE tenant_id = '{b}' AND contact_id = '{theirs.Contact}')"))
            .Should().Be(4L);
    }

    [Fact]
    public async Task TenantACannotReadChangeOrPlantActivitiesOfTenantBNorLinkItsActivityToBsRecords()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = await SeedTwoTenantsAsync(database);
        var rows = new Dictionary<Guid, (Guid Customer, Guid Contact, Guid Deal, Guid Activity)>();
        await using (var seed = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await seed.OpenAsync();
            foreach (var tenant in new[] { a, b })
            {
                var (contact, stage, deal, activity) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
                var customer = (Guid)(await Scalar(seed, $"SELECT id FROM customers WHERE tenant_id = '{tenant}'"))!;
                await Execute(seed,
                    $"""
                    INSERT INTO contacts (tenant_id, id, last_name, customer_id, created_at, updated_at, version) VALUES ('{tenant}', '{contact}', 'contact', '{customer}', now(), now(), 1);
                    INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability) VALUES ('{tenant}', '{stage}', 0, 'Lead', 'open', 10);
                    INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, created_at, updated_at, version)
                        VALUES ('{tenant}', '{deal}', 'deal', '{customer}', 1, 'EUR', '{stage}', 'open', now(), now(), 1);
                    INSERT INTO activities (tenant_id, id, type, subject, body, customer_id, contact_id, deal_id, created_at, updated_at, version)
                        VALUES ('{tenant}', '{activity}', 'note', 'note', 'private', '{customer}', '{contact}', '{deal}', now(), now(), 1);
                    """);
                rows[tenant] = (customer, contact, deal, activity);
            }
        }

        var (own, theirs) = (rows[a], rows[b]);
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, $"SELECT set_config('app.tenant_id', '{a}', true)");

        var seen = new Dictionary<string, object?>
        {
            ["of B"] = await Scalar(connection, $"SELECT count(*) FROM activities WHERE tenant_id = '{b}'"),
            ["by B's id"] = await Scalar(connection, $"SELECT count(*) FROM activities WHERE id = '{theirs.Activity}'"),
            ["about B's records"] = await Scalar(connection,
                $"SELECT count(*) FROM activities WHERE customer_id = '{theirs.Customer}' OR contact_id = '{theirs.Contact}' OR deal_id = '{theirs.Deal}'"),
        };
        var own1 = await Scalar(connection, "SELECT count(*) FROM activities");
        var changed = new Dictionary<string, int>
        {
            ["update"] = await Execute(connection, $"UPDATE activities SET subject = 'pwned', body = NULL WHERE tenant_id = '{b}'"),
            ["update by id"] = await Execute(connection, $"UPDATE activities SET customer_id = '{own.Customer}' WHERE id = '{theirs.Activity}'"),
            ["delete"] = await Execute(connection, $"DELETE FROM activities WHERE tenant_id = '{b}'"),
        };
        var planted = $"INSERT INTO activities (tenant_id, id, type, subject, customer_id, created_at, updated_at, version) VALUES ('{b}', gen_random_uuid(), 'note', 'planted', '{theirs.Customer}', now(), now(), 1)";
        // The foreign keys name the tenant too: A's activity cannot be about B's customer, contact or deal, whatever ids it sends.
        var crossLinks = new[]
        {
            $"INSERT INTO activities (tenant_id, id, type, subject, customer_id, created_at, updated_at, version) VALUES ('{a}', gen_random_uuid(), 'note', 'x', '{theirs.Customer}', now(), now(), 1)",
            $"INSERT INTO activities (tenant_id, id, type, subject, contact_id, created_at, updated_at, version) VALUES ('{a}', gen_random_uuid(), 'note', 'x', '{theirs.Contact}', now(), now(), 1)",
            $"INSERT INTO activities (tenant_id, id, type, subject, deal_id, created_at, updated_at, version) VALUES ('{a}', gen_random_uuid(), 'note', 'x', '{theirs.Deal}', now(), now(), 1)",
            $"UPDATE activities SET deal_id = '{theirs.Deal}' WHERE id = '{own.Activity}'",
        };
        var refusals = new List<string>();
        foreach (var (sql, expected) in crossLinks.Select(c => (c, PostgresErrorCodes.ForeignKeyViolation)).Prepend((planted, PostgresErrorCodes.InsufficientPrivilege)))
        {
            await Execute(connection, "SAVEPOINT probe");
            try
            {
                await Execute(connection, sql);
                refusals.Add($"accepted: {sql}");
            }
            catch (PostgresException e) when (e.SqlState == expected)
            {
            }
            catch (PostgresException e)
            {
                refusals.Add($"{e.SqlState} instead of {expected}: {sql}");
            }

            await Execute(connection, "ROLLBACK TO SAVEPOINT probe");
        }

        seen.Should().OnlyContain(s => Equals(s.Value, 0L));
        own1.Should().Be(1L);
        changed.Should().OnlyContain(c => c.Value == 0);
        refusals.Should().BeEmpty();
        await transaction.RollbackAsync();
        await using var check = new NpgsqlConnection(database.SuperuserConnectionString);
        await check.OpenAsync();
        (await Scalar(check, $"SELECT count(*) FROM activities WHERE tenant_id = '{b}' AND subject = 'note' AND body = 'private' AND customer_id = '{theirs.Customer}'"))
            .Should().Be(1L);
    }

    [Fact]
    public async Task EveryIndexOfTheDealTablesLeadsWithTheTenant()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();

        var indexes = new List<(string Table, string Index, string First)>();
        await using (var read = new NpgsqlCommand(
            """
            SELECT t.relname, i.relname, a.attname
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
            WHERE n.nspname = 'public' AND t.relname IN ('pipeline_stages', 'deals', 'deal_contacts', 'activities')
            """,
            connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                indexes.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? "(expression)" : reader.GetString(2)));
            }
        }

        indexes.Select(i => i.Table).Distinct().Should().BeEquivalentTo("pipeline_stages", "deals", "deal_contacts", "activities");
        indexes.Count(i => i.Table == "deals").Should().BeGreaterThanOrEqualTo(9);
        indexes.Count(i => i.Table == "activities").Should().BeGreaterThanOrEqualTo(8);
        indexes.Should().AllSatisfy(i => i.First.Should().Be("tenant_id", $"{i.Index} on {i.Table} must lead with the tenant"));
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
            await Execute(connection,
                $"INSERT INTO custom_field_definitions (tenant_id, record_type, key, position, label, type) VALUES ('{tenant}', 'customers', 'industry', 0, 'Industry', 'text')");
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
