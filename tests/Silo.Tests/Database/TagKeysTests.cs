using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

/// <summary>
/// customer_tag_ids() and contact_tag_ids() (sql/0260) run as the owner, past row-level security: they must answer for
/// the transaction's tenant only, and read only that tenant's postings of the tag (the per-tenant keys they exist for).
/// </summary>
public sealed class TagKeysTests
{
    public static TheoryData<string> Tables => new() { "customers", "contacts" };

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task TheIdsAreTheTenantOfTheTransactionsWithTheTagAndNullOverTheLimit(string table)
    {
        var database = await TestDatabase.SharedAsync();
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var tag = "t" + Guid.NewGuid().ToString("N")[..8];
        var ownA = await InsertAsync(database, table, a, 3, [tag, "other"]);
        await InsertAsync(database, table, a, 4, ["other", tag.ToUpperInvariant()]);
        var ownB = await InsertAsync(database, table, b, 5, [tag]);

        (await IdsAsync(database, table, null, tag, 1000)).Should().BeEmpty("no tenant in the transaction: no ids");
        (await IdsAsync(database, table, a, tag, 1000)).Should().BeEquivalentTo(ownA, "the tag exactly, and only the tenant's own");
        (await IdsAsync(database, table, b, tag, 1000)).Should().BeEquivalentTo(ownB);
        (await IdsAsync(database, table, b, tag, 5)).Should().BeEquivalentTo(ownB, "five is not more than the limit");
        (await IdsAsync(database, table, b, tag, 4)).Should().BeNull("more rows have the tag than the limit");
        (await IdsAsync(database, table, a, "missing", 1000)).Should().BeEmpty();
    }

    [Fact]
    public async Task OnlyTheRuntimeRoleMayExecuteTheTagFunctionsAndTheyPinTheirSearchPath()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand(
            """
            SELECT p.proname, p.prosecdef, p.proconfig,
                   array(SELECT a.grantee::regrole::text FROM aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE' ORDER BY 1)
            FROM pg_proc p WHERE p.proname IN ('customer_tag_ids', 'contact_tag_ids') ORDER BY 1
            """,
            connection);
        await using var reader = await read.ExecuteReaderAsync();
        foreach (var name in new[] { "contact_tag_ids", "customer_tag_ids" })
        {
            (await reader.ReadAsync()).Should().BeTrue(name);
            reader.GetString(0).Should().Be(name);
            reader.GetBoolean(1).Should().BeTrue(name);
            reader.GetFieldValue<string[]>(2).Should().Contain("search_path=public, pg_temp");
            reader.GetFieldValue<string[]>(3).Should().BeEquivalentTo("shohayota_app", "shohayota_owner");
        }

        (await reader.ReadAsync()).Should().BeFalse("one of each, no overload");
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task ASmallTenantsTagReadsTheSameIndexPagesHoweverManyRowsOtherTenantsHaveWithIt(string table)
    {
        // A database of its own: other tests' rows, inserted between the vacuum and the read, would sit in the index's
        // pending list, which every read of it reads.
        await using var database = await TestDatabase.StartAsync();
        var (small, other) = (Guid.NewGuid(), Guid.NewGuid());
        const string tag = "vip";
        // A third tenant's rows first, so the index's tree of keys has its depth before the first measure.
        await InsertAsync(database, table, Guid.NewGuid(), 5_000, ["filler"]);
        var own = await InsertAsync(database, table, small, 7, [tag]);
        await InsertAsync(database, table, small, 300, ["plain"]);
        await VacuumAsync(database, table);
        var before = await PlanAsync(database, table, small, tag);

        // Another tenant gets 20,000 rows with the same tag.
        await InsertAsync(database, table, other, 20_000, [tag]);
        await VacuumAsync(database, table);
        var after = await PlanAsync(database, table, small, tag);

        before.Ids.Should().BeEquivalentTo(own);
        after.Ids.Should().BeEquivalentTo(own);
        var index = Index(table);
        var (rowsBefore, rowsAfter) = (NestedPlans.IndexRows(before.Plan, index), NestedPlans.IndexRows(after.Plan, index));
        var (pagesBefore, pagesAfter) = (before.Pages, after.Pages);
        rowsBefore.Should().Be(7, before.Plan.ToJsonString());
        pagesBefore.Should().BePositive(before.Plan.ToJsonString());
        // The tag's key holds only the tenant's own rows: the other tenant's 20,000 add no entry and no page.
        rowsAfter.Should().Be(7, after.Plan.ToJsonString());
        pagesAfter.Should().Be(pagesBefore, after.Plan.ToJsonString());
    }

    /// <summary>The function's answer as the runtime role, for <paramref name="tenant"/> (none: no app.tenant_id).</summary>
    private static async Task<Guid[]?> IdsAsync(TestDatabase database, string table, Guid? tenant, string tag, int limit)
    {
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (tenant is { } id)
        {
            await Execute(connection, $"SELECT set_config('app.tenant_id', '{id}', true)");
        }

        await using var read = new NpgsqlCommand($"SELECT {Function(table)}($1, $2)", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = tag });
        read.Parameters.Add(new NpgsqlParameter { Value = limit });
        var value = await read.ExecuteScalarAsync();
        return value is DBNull ? null : (Guid[])value!;
    }

    /// <summary>
    /// The plan of the query inside the function, as the runtime role (<see cref="NestedPlans"/>), its ids, and the pages
    /// of the tag keys' index it read.
    /// </summary>
    private static async Task<(JsonNode Plan, Guid[] Ids, long Pages)> PlanAsync(TestDatabase database, string table, Guid tenant, string tag)
    {
        var (inner, ids, pages) = await NestedPlans.CaptureAsync(
            database, tenant, $"SELECT {Function(table)}($1, 1000)", $"FROM {table} c", [Index(table)], new NpgsqlParameter { Value = tag });
        inner.Should().ContainSingle();
        return (inner[0], (Guid[])ids!, pages[0]);
    }

    private static string Function(string table) => table == "customers" ? "customer_tag_ids" : "contact_tag_ids";

    private static string Index(string table) => $"{table}_tag_keys_idx";

    private static async Task VacuumAsync(TestDatabase database, string table)
    {
        // As autovacuum leaves it: statistics current and the index's pending list merged into the index.
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await Execute(connection, $"VACUUM (ANALYZE) {table}");
        // And the pending list emptied even when an autovacuum worker was cleaning it at the same moment.
        await Execute(connection, $"SELECT gin_clean_pending_list('{Index(table)}')");
    }

    /// <summary><paramref name="count"/> rows of <paramref name="tenant"/> with <paramref name="tags"/>, as the superuser; their ids.</summary>
    private static async Task<List<Guid>> InsertAsync(TestDatabase database, string table, Guid tenant, int count, string[] tags)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            table == "customers"
                ? """
                  INSERT INTO customers (tenant_id, id, name, status, tags, created_at, updated_at, version)
                  SELECT $1, gen_random_uuid(), 'Shop ' || g, 'lead', $2, now(), now(), 1 FROM generate_series(1, $3) AS g
                  RETURNING id
                  """
                : """
                  INSERT INTO contacts (tenant_id, id, last_name, tags, created_at, updated_at, version)
                  SELECT $1, gen_random_uuid(), 'Person ' || g, $2, now(), now(), 1 FROM generate_series(1, $3) AS g
                  RETURNING id
                  """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        insert.Parameters.Add(new NpgsqlParameter { Value = tags });
        insert.Parameters.Add(new NpgsqlParameter { Value = count });
        var ids = new List<Guid>();
        await using var reader = await insert.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
