using System.Globalization;
using Npgsql;
using Shohayota.Grains.Activities;
using Shohayota.Grains.Contacts;
using Shohayota.Grains.Customers;
using Shohayota.Grains.Database;
using Shohayota.Grains.Deals;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;
using Shohayota.Grains.Records;
using Shohayota.TestSupport;

namespace Shohayota.Grains.Tests.Database;

/// <summary>
/// A page without a filter walks its sort's index for every tenant, so it runs with PostgreSQL's generic plan
/// (<see cref="TenantDatabase.GenericPlan"/>): prepared once per connection, not planned again on each call. A filtered
/// page keeps PostgreSQL's own choice, and neither leaves the setting on the pooled connection.
/// </summary>
public sealed class GenericPlanTests
{
    [Fact]
    public async Task AnUnfilteredPageRunsOnTheGenericPlanAndAFilteredPageOnPostgresChoice()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        // The runtime role's settings (its statements prepared after a few uses), one connection: every call reuses it.
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(
            GrainsExtensions.RuntimeConnectionString(database.AppConnectionString)) { MaxPoolSize = 1 }.ConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var plain = new CustomerQuery(null, null, null, null, CustomerSort.CreatedAtDescending, 50, null);
        var filtered = plain with { Status = "customer" };

        for (var i = 0; i < 12; i++)
        {
            foreach (var query in new[] { plain, filtered })
            {
                var page = CustomerQueryGrain.ListCommand(tenant, query);
                await tenantDatabase.ReadAsync(tenant, page.Statement, async reader =>
                {
                    while (await reader.ReadAsync())
                    {
                    }

                    return 0;
                }, page.Settings);
            }
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var plans = new NpgsqlCommand(
            """
            SELECT statement LIKE '%status = $2%', generic_plans, custom_plans, current_setting('plan_cache_mode')
            FROM pg_prepared_statements WHERE statement LIKE '%FROM customers WHERE tenant_id = $1%'
            """,
            connection);
        await using var reader = await plans.ExecuteReaderAsync();
        var found = new Dictionary<bool, (long Generic, long Custom)>();
        var mode = "";
        while (await reader.ReadAsync())
        {
            found[reader.GetBoolean(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            mode = reader.GetString(3);
        }

        found.Keys.Should().BeEquivalentTo([false, true], "both pages were prepared on the connection (after Npgsql's five uses)");
        found[false].Custom.Should().Be(0, "the unfiltered page is never planned for its values");
        found[false].Generic.Should().BePositive();
        found[true].Custom.Should().BePositive("the filtered page gets PostgreSQL's custom plans first, as any prepared statement");
        mode.Should().Be("auto", "the generic plan was the batch's setting only");
        CustomerQueryGrain.ListCommand(tenant, plain with { After = new CustomerCursor(CustomerSort.CreatedAtDescending, null, DateTimeOffset.UtcNow, Guid.NewGuid()) })
            .Settings.Should().BeSameAs(TenantDatabase.GenericPlan, "a later page walks the same index");
        CustomerQueryGrain.ListCommand(tenant, plain with { Tag = "vip" }).Settings.Should().BeNull("a tag is a filter");
    }

    /// <summary>
    /// A generic plan is cached on the connection and reused for every tenant that connection serves next: each still
    /// reads its own rows only (the tenant is a parameter of the plan, and row-level security's check of the session's
    /// tenant runs at each execution), and a page built for one tenant but run under another's setting reads nothing.
    /// </summary>
    [Fact]
    public async Task AGenericPlanReusedOnAConnectionGivesEachTenantItsOwnRowsOnly()
    {
        var database = await TestDatabase.SharedAsync();
        var tenants = new[] { Guid.NewGuid(), Guid.NewGuid() };
        var rows = new Dictionary<Guid, List<Guid>>();
        await using (var superuser = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await superuser.OpenAsync();
            foreach (var tenant in tenants)
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO customers (tenant_id, id, name, status, created_at, updated_at, version) " +
                    "SELECT $1, gen_random_uuid(), 'c' || g, 'lead', now(), now(), 1 FROM generate_series(1, 3) g RETURNING id",
                    superuser);
                insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
                await using var reader = await insert.ExecuteReaderAsync();
                rows[tenant] = [];
                while (await reader.ReadAsync())
                {
                    rows[tenant].Add(reader.GetGuid(0));
                }
            }
        }

        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(
            GrainsExtensions.RuntimeConnectionString(database.AppConnectionString)) { MaxPoolSize = 1 }.ConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var plain = new CustomerQuery(null, null, null, null, CustomerSort.CreatedAtDescending, 50, null);
        var seen = new List<(Guid Tenant, Guid[] Ids)>();
        for (var i = 0; i < 12; i++)
        {
            foreach (var tenant in tenants)
            {
                seen.Add((tenant, await IdsAsync(tenantDatabase, tenant, CustomerQueryGrain.ListCommand(tenant, plain))));
            }
        }

        var crossed = await IdsAsync(tenantDatabase, tenants[1], CustomerQueryGrain.ListCommand(tenants[0], plain));
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var plans = new NpgsqlCommand(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%FROM customers WHERE tenant_id = $1%'", connection);
        await using var planned = await plans.ExecuteReaderAsync();
        (await planned.ReadAsync()).Should().BeTrue("the page was prepared on the connection");

        (planned.GetInt64(0), planned.GetInt64(1)).Should().Match<(long Generic, long Custom)>(p => p.Generic > 0 && p.Custom == 0,
            "the reads ran on the one cached generic plan");
        seen.Should().OnlyContain(s => s.Ids.Order().SequenceEqual(rows[s.Tenant].Order()), "each tenant reads exactly its own three rows, every time");
        crossed.Should().BeEmpty("tenant 0's page under tenant 1's setting: row-level security admits neither tenant's rows");
    }

    private static async Task<Guid[]> IdsAsync(TenantDatabase database, Guid tenant, KeysetPage page) =>
        await database.ReadAsync(tenant, page.Statement, async reader =>
        {
            var ids = new List<Guid>();
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetGuid(0));
            }

            return ids.ToArray();
        }, page.Settings);

    /// <summary>
    /// The generic plan is made once, for every tenant, from the table's average: it must still be the walk of the sort's
    /// index (no Sort node: a sort reads all of the tenant's rows, 100,000 for the big tenant), for every sort of every
    /// record list, first page and later pages. Planned with the pages' own settings from the shared test database's small
    /// tables, where a bitmap scan and a sort look cheapest if anything does: without sorts off, a CI run of this test got
    /// one for a later page of customers by name.
    /// </summary>
    [Fact]
    public async Task EveryUnfilteredPageIsPlannedGenericallyAsTheWalkOfItsSortsIndex()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow;
        var id = Guid.NewGuid();
        var pages = new List<(string Name, KeysetPage Page)>();
        foreach (var sort in Enum.GetValues<CustomerSort>().Where(s => s != CustomerSort.Relevance))
        {
            var query = new CustomerQuery(null, null, null, null, sort, 50, null);
            pages.Add(($"customers {sort}", CustomerQueryGrain.ListCommand(tenant, query)));
            pages.Add(($"customers {sort}, later page", CustomerQueryGrain.ListCommand(tenant, query with { After = new CustomerCursor(sort, "m", at, id) })));
        }

        foreach (var sort in Enum.GetValues<ContactSort>())
        {
            var query = new ContactQuery(null, null, null, null, sort, 50, null);
            pages.Add(($"contacts {sort}", ContactQueryGrain.Command(tenant, query)));
            pages.Add(($"contacts {sort}, later page", ContactQueryGrain.Command(tenant, query with { After = new ContactCursor(sort, "m", at, id) })));
        }

        foreach (var sort in Enum.GetValues<DealSort>())
        {
            var query = new DealQuery(null, null, null, null, null, sort, 50, null);
            var after = sort is DealSort.AmountAscending or DealSort.AmountDescending ? new DealCursor(sort, null, null, 1000m, id)
                : sort is DealSort.ExpectedCloseDateAscending or DealSort.ExpectedCloseDateDescending ? new DealCursor(sort, null, DateOnly.FromDateTime(at.UtcDateTime), null, id)
                : new DealCursor(sort, at, null, null, id);
            pages.Add(($"deals {sort}", DealQueryGrain.Command(tenant, query)));
            pages.Add(($"deals {sort}, later page", DealQueryGrain.Command(tenant, query with { After = after })));
        }

        foreach (var sort in Enum.GetValues<ActivitySort>())
        {
            var query = new ActivityQuery(null, null, null, null, null, null, null, null, sort, 50, null);
            pages.Add(($"activities {sort}", ActivityQueryGrain.Command(tenant, query)));
            pages.Add(($"activities {sort}, later page", ActivityQueryGrain.Command(tenant, query with { After = new ActivityCursor(sort, at, id) })));
        }

        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        // The tenant and the pages' own settings (TenantDatabase.GenericPlan), for the session.
        foreach (var (name, value) in TenantDatabase.GenericPlan.Prepend(new("app.tenant_id", tenant.ToString("D"))))
        {
            await using var set = new NpgsqlCommand("SELECT set_config($1, $2, false)", connection);
            set.Parameters.Add(new NpgsqlParameter { Value = name });
            set.Parameters.Add(new NpgsqlParameter { Value = value });
            await set.ExecuteNonQueryAsync();
        }

        var plans = new Dictionary<string, string>();
        foreach (var (name, page) in pages)
        {
            page.Settings.Should().BeSameAs(TenantDatabase.GenericPlan, $"{name} has no filter");
            await using (var prepare = new NpgsqlCommand($"PREPARE page AS {page.Statement.CommandText}", connection))
            {
                await prepare.ExecuteNonQueryAsync();
            }

            var values = string.Join(", ", page.Statement.Parameters.Select(p => Literal(p.Value)));
            var lines = new List<string>();
            await using (var explain = new NpgsqlCommand($"EXPLAIN (COSTS OFF) EXECUTE page({values})", connection))
            await using (var reader = await explain.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            await using (var deallocate = new NpgsqlCommand("DEALLOCATE page", connection))
            {
                await deallocate.ExecuteNonQueryAsync();
            }

            plans[name] = string.Join("\n", lines);
        }

        plans.Should().HaveCount(2 * (6 + 6 + 8 + 6), "every sort but relevance (a search), first and later page");
        foreach (var (name, plan) in plans)
        {
            plan.Should().Contain("Index Scan", $"{name} walks an index:\n{plan}").And.NotContain("Sort", $"{name} needs no sort:\n{plan}")
                .And.Contain("$1", $"{name} is the generic plan (its tenant a parameter):\n{plan}");
        }
    }

    /// <summary>A parameter's value as an SQL literal for <c>EXECUTE</c> (its type is the prepared statement's).</summary>
    private static string Literal(object? value) => "'" + (value switch
    {
        Guid g => g.ToString("D"),
        DateTimeOffset t => t.ToString("O", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    })!.Replace("'", "''", StringComparison.Ordinal) + "'";
}
