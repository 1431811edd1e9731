using Npgsql;
using Shohayota.Grains.Customers;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Customers;
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
}
