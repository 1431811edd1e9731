using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

/// <summary>
/// customer_search() (sql/0120) runs as the owner, past row-level security: it must still answer for the transaction's
/// tenant only, and it must keep using the tenant-leading indexes that are the reason it exists.
/// </summary>
public sealed class CustomerSearchFunctionTests
{
    [Fact]
    public async Task TheSearchFunctionReturnsOnlyTheTenantOfTheTransactionAndNothingWithoutOne()
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var term = "zq" + Guid.NewGuid().ToString("N")[..8];
        await InsertAsync(database, a, 3, term);
        await InsertAsync(database, b, 5, term);
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();

        var none = await SearchTenantsAsync(connection, null, term);
        var asA = await SearchTenantsAsync(connection, a, term);
        var asB = await SearchTenantsAsync(connection, b, term);
        var shortAsA = await SearchTenantsAsync(connection, a, "zq");

        none.Should().BeEmpty();
        asA.Should().HaveCount(3).And.AllBeEquivalentTo(a);
        asB.Should().HaveCount(5).And.AllBeEquivalentTo(b);
        shortAsA.Should().NotBeEmpty().And.AllBeEquivalentTo(a);
    }

    [Fact]
    public async Task OnlyTheRuntimeRoleMayExecuteTheSearchFunctionAndItPinsItsSearchPath()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();

        await using var read = new NpgsqlCommand(
            """
            SELECT p.prosecdef, p.proconfig, array(SELECT a.grantee::regrole::text FROM aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE' ORDER BY 1)
            FROM pg_proc p WHERE p.proname = 'customer_search'
            """,
            connection);
        await using var reader = await read.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();

        reader.GetBoolean(0).Should().BeTrue();
        reader.GetFieldValue<string[]>(1).Should().Contain("search_path=public, pg_temp");
        reader.GetFieldValue<string[]>(2).Should().BeEquivalentTo("shohayota_app", "shohayota_owner");
        (await reader.ReadAsync()).Should().BeFalse("one customer_search, no overload");
    }

    [Fact]
    public async Task ASelectiveSearchUsesTheTenantLeadingIndexesAndReadsAFewPages()
    {
        var database = await TestDatabase.SharedAsync();
        var (small, large) = (Guid.NewGuid(), Guid.NewGuid());
        var word = "zz" + Guid.NewGuid().ToString("N")[..8];
        await InsertAsync(database, large, 20_000, "bulk");
        await InsertAsync(database, small, 5_000, "other");
        await InsertAsync(database, small, 1, word);
        await using (var analyze = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await analyze.OpenAsync();
            // As autovacuum leaves it: statistics current and the search index's pending list merged into the index.
            await using var command = new NpgsqlCommand("VACUUM (ANALYZE) customers", analyze);
            await command.ExecuteNonQueryAsync();
        }

        string definition;
        await using (var catalog = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await catalog.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT indexdef FROM pg_indexes WHERE indexname = 'customers_tenant_search_idx'", catalog);
            definition = (string)(await read.ExecuteScalarAsync())!;
        }

        var longTerm = await PlanAsync(database, small, word);
        var shortTerm = await PlanAsync(database, small, "zz");
        longTerm.Count.Should().Be(1);
        shortTerm.Count.Should().Be(1);

        definition.Should().Contain("USING gin (tenant_id, search_text gin_trgm_ops)");
        IndexesOf(longTerm.Plan).Should().Contain("customers_tenant_search_idx", longTerm.Plan.ToJsonString());
        // Under the C collation (the managed cluster's) the name sort's index serves a name prefix as well as the prefix index.
        IndexesOf(shortTerm.Plan).Should().Contain(["customers_email_prefix_idx", "customers_company_prefix_idx"], shortTerm.Plan.ToJsonString())
            .And.ContainSingle(i => i == "customers_name_prefix_idx" || i == "customers_name_idx");
        // Walking this tenant's 5,000 rows, or the table, reads hundreds of pages; the indexes find the one match in a few.
        longTerm.SharedBuffers.Should().BeLessThan(100);
        shortTerm.SharedBuffers.Should().BeLessThan(100);
    }

    [Fact]
    public async Task OnlyTheRarePartGoesToTheIndexAndTheWholeTermIsStillCheckedOnEveryRow()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        var rare = "q" + Guid.NewGuid().ToString("N")[..7];
        await InsertAsync(database, tenant, 5_000, "common");
        await InsertNamedAsync(database, tenant, $"Shop customer {rare}", $"{rare} elsewhere", $"customer {rare[..4]}");
        await using (var superuser = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await superuser.OpenAsync();
            await Execute(superuser, "VACUUM (ANALYZE) customers");
        }

        var withPart = await PlanAsync(database, tenant, $"customer {rare}", rare);
        var notAPart = await PlanAsync(database, tenant, $"customer {rare}", "zzzzzz");

        // One row has the whole term; the one with only the rare part is a candidate from the index and is checked out.
        withPart.Count.Should().Be(1);
        notAPart.Count.Should().Be(1, "a part that is not in the term is ignored: the whole term goes to the index");
        var condition = IndexConditions(withPart.Plan).Should().ContainSingle().Subject;
        condition.Should().Contain($"'%{rare}%'").And.NotContain("customer", withPart.Plan.ToJsonString());
        IndexConditions(notAPart.Plan).Should().ContainSingle().Which.Should().Contain($"'%customer {rare}%'");
    }

    [Fact]
    public async Task TheCommonTrigramsComeFromTheStatisticsAndOnlyTheRuntimeRoleMayReadThem()
    {
        var database = await TestDatabase.SharedAsync();
        var word = "k" + Guid.NewGuid().ToString("N")[..6];
        await InsertAsync(database, Guid.NewGuid(), 8_000, word);
        await using (var superuser = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await superuser.OpenAsync();
            await Execute(superuser, "ANALYZE customers");
        }

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand(
            """
            SELECT array(SELECT search_common_trigrams(0.01)),
                   array(SELECT a.grantee::regrole::text FROM pg_proc p, aclexplode(p.proacl) a
                         WHERE p.proname = 'search_common_trigrams' AND a.privilege_type = 'EXECUTE' ORDER BY 1)
            """,
            connection);
        await using var reader = await read.ExecuteReaderAsync();
        await reader.ReadAsync();

        // Every one of those 8,000 rows has the word: its trigrams are common, a rare trigram of nobody's is not.
        reader.GetFieldValue<string[]>(0).Should().Contain(word[..3]).And.NotContain("zq#");
        reader.GetFieldValue<string[]>(1).Should().BeEquivalentTo("shohayota_app", "shohayota_owner");
    }

    /// <summary>The plan customer_search() ran, as the runtime role, from auto_explain (nested statements, JSON).</summary>
    private static async Task<(JsonNode Plan, long SharedBuffers, long Count)> PlanAsync(TestDatabase database, Guid tenant, string term, string? rarePart = null)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        var plans = new List<string>();
        long count;
        connection.Notice += (_, e) => plans.Add(e.Notice.MessageText);
        await Execute(connection, """
            LOAD 'auto_explain';
            SET auto_explain.log_min_duration = 0;
            SET auto_explain.log_nested_statements = on;
            SET auto_explain.log_analyze = on;
            SET auto_explain.log_buffers = on;
            SET auto_explain.log_format = json;
            SET client_min_messages = log;
            SET ROLE shohayota_app;
            """);
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, $"SELECT set_config('app.tenant_id', '{tenant}', true)");
            plans.Clear();
            await using var search = new NpgsqlCommand("SELECT count(*) FROM customer_search($1, '-createdAt', 51, p_index_term => $2)", connection);
            search.Parameters.Add(new NpgsqlParameter { Value = term });
            search.Parameters.Add(new NpgsqlParameter { Value = (object?)rarePart ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            count = (long)(await search.ExecuteScalarAsync())!;
        }

        var inner = plans.Select(p => JsonNode.Parse(p[(p.IndexOf('{', StringComparison.Ordinal))..])!)
            .Single(p => p["Query Text"]!.GetValue<string>().Contains("FROM customers c", StringComparison.Ordinal));
        var plan = inner["Plan"]!;
        return (plan, plan["Shared Hit Blocks"]!.GetValue<long>() + plan["Shared Read Blocks"]!.GetValue<long>(), count);
    }

    private static IEnumerable<string> IndexConditions(JsonNode node)
    {
        if (node["Index Cond"] is { } condition && node["Index Name"]?.GetValue<string>() == "customers_tenant_search_idx")
        {
            yield return condition.GetValue<string>();
        }

        foreach (var child in node["Plans"]?.AsArray() ?? [])
        {
            foreach (var found in IndexConditions(child!))
            {
                yield return found;
            }
        }
    }

    private static IEnumerable<string> IndexesOf(JsonNode node)
    {
        if (node["Index Name"] is { } index)
        {
            yield return index.GetValue<string>();
        }

        foreach (var child in node["Plans"]?.AsArray() ?? [])
        {
            foreach (var name in IndexesOf(child!))
            {
                yield return name;
            }
        }
    }

    private static async Task<List<Guid>> SearchTenantsAsync(NpgsqlConnection connection, Guid? tenant, string term)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        if (tenant is not null)
        {
            await Execute(connection, $"SELECT set_config('app.tenant_id', '{tenant}', true)");
        }

        // The function returns no tenant column: which tenant a row is from is read back as the owner would see it.
        await using var search = new NpgsqlCommand("SELECT id FROM customer_search($1, 'createdAt', 201)", connection);
        search.Parameters.Add(new NpgsqlParameter { Value = term });
        var ids = new List<Guid>();
        await using (var reader = await search.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetGuid(0));
            }
        }

        await transaction.RollbackAsync();
        return await TenantsOfAsync(ids);
    }

    private static async Task<List<Guid>> TenantsOfAsync(List<Guid> ids)
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT c.tenant_id FROM unnest($1::uuid[]) AS i(id) JOIN customers c ON c.id = i.id", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        var tenants = new List<Guid>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tenants.Add(reader.GetGuid(0));
        }

        return tenants;
    }

    private static async Task InsertNamedAsync(TestDatabase database, Guid tenant, params string[] names)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, status, tags, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(), n, 'lead', '{}', now(), now(), 1 FROM unnest($2::text[]) AS n
            """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = names });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task InsertAsync(TestDatabase database, Guid tenant, int count, string word)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, email, company, status, tags, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(), $2 || ' customer ' || g, 'c' || g || '@' || $2 || '.test', 'Company ' || g, 'lead', '{}',
                   now() - g * interval '1 second', now() - g * interval '1 second', 1
            FROM generate_series(1, $3) AS g
            """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = word });
        insert.Parameters.Add(new NpgsqlParameter { Value = count });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
