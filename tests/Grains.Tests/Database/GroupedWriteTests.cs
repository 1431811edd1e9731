using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.TestSupport;

namespace Shohayota.Grains.Tests.Database;

/// <summary>
/// <see cref="TenantDatabase.WriteGroupedAsync"/>: the usage flushes of many tenants share one commit, each tenant's
/// statements still under its own row-level security, and one tenant's failing statement fails that tenant's write only.
/// </summary>
public sealed class GroupedWriteTests
{
    private const string Insert =
        "INSERT INTO tenant_usage_metrics (tenant_id, period, period_start, api_calls, updated_at) VALUES (app_current_tenant(), 'day', $1, $2, now())";

    [Fact]
    public async Task WritesQueuedBehindOneInFlightCommitTogetherEachUnderItsOwnTenant()
    {
        var database = await TestDatabase.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.AppConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var day = new DateOnly(2001, 1, 1);
        var tenants = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();

        // The first write holds the line, so the others queue behind it and go as one group.
        var first = await HoldTheLineAsync(database, tenantDatabase);
        var writes = tenants.Select((tenant, i) => tenantDatabase.WriteGroupedAsync(tenant, () => [TenantDatabase.Statement(Insert, day, (long)i)])).ToArray();
        await first;
        await Task.WhenAll(writes);

        tenantDatabase.GroupCommits.Should().Be(1, "the twenty writes queued behind the first went as one commit");
        tenantDatabase.GroupFallbacks.Should().Be(0);
        // The row of each tenant carries its own id (app_current_tenant() at that statement) and its own value.
        var rows = await WrittenAsync(database, tenants);
        rows.Should().BeEquivalentTo(tenants.Select((tenant, i) => new KeyValuePair<Guid, long>(tenant, i)));
    }

    [Fact]
    public async Task OneTenantsFailingStatementFailsItsWriteAloneAndTheOthersCommit()
    {
        var database = await TestDatabase.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.AppConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var day = new DateOnly(2001, 1, 2);
        var tenants = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid()).ToArray();
        var failing = tenants[3];

        var first = await HoldTheLineAsync(database, tenantDatabase);
        var writes = tenants.Select(tenant => tenantDatabase.WriteGroupedAsync(tenant, () => tenant == failing
            ?
            [
                TenantDatabase.Statement(Insert, day, 1L),
                // Another tenant's row: refused by the policy's WITH CHECK, and it takes this tenant's first insert with it.
                TenantDatabase.Statement(
                    "INSERT INTO tenant_usage_metrics (tenant_id, period, period_start, updated_at) VALUES ($1, 'day', $2, now())", tenants[0], day),
            ]
            : [TenantDatabase.Statement(Insert, day, 1L)])).ToArray();
        await first;
        var outcomes = await Task.WhenAll(writes.Select(async w =>
        {
            try
            {
                await w;
                return null;
            }
            catch (PostgresException e)
            {
                return e.SqlState;
            }
        }));

        outcomes[3].Should().Be(PostgresErrorCodes.InsufficientPrivilege);
        outcomes.Where((_, i) => i != 3).Should().AllSatisfy(o => o.Should().BeNull());
        tenantDatabase.GroupFallbacks.Should().Be(1);
        (await WrittenAsync(database, tenants)).Keys.Should().BeEquivalentTo(tenants.Where(t => t != failing));
    }

    /// <summary>
    /// A write that sleeps in PostgreSQL, once it is running there: the writes queued from then on wait for it and go
    /// together as the next group. (Queued before it starts, some would join its own group, and how many depends on when
    /// the thread pool runs the drain: the grouping the tests count would be a race.)
    /// </summary>
    private static async Task<Task> HoldTheLineAsync(TestDatabase database, TenantDatabase tenantDatabase)
    {
        var marker = $"hold {Guid.NewGuid():N}";
        var hold = tenantDatabase.WriteGroupedAsync(Guid.NewGuid(), () => [TenantDatabase.Statement($"SELECT pg_sleep(1) /* {marker} */")]);
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        for (var waited = 0; waited < 100; waited++)
        {
            await using var running = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1", connection);
            running.Parameters.Add(new NpgsqlParameter { Value = $"%{marker}%" });
            if ((long)(await running.ExecuteScalarAsync())! > 0)
            {
                return hold;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("The holding write never ran.");
    }

    /// <summary>The usage rows of <paramref name="tenants"/> as the superuser (no row-level security): tenant → API calls.</summary>
    private static async Task<Dictionary<Guid, long>> WrittenAsync(TestDatabase database, Guid[] tenants)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT tenant_id, api_calls FROM tenant_usage_metrics WHERE tenant_id = ANY($1)", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = tenants });
        var rows = new Dictionary<Guid, long>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows[reader.GetGuid(0)] = reader.GetInt64(1);
        }

        return rows;
    }

    [Fact]
    public async Task ALoneWriteGoesAtOnceWithoutAGroup()
    {
        var database = await TestDatabase.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.AppConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var tenant = Guid.NewGuid();

        await tenantDatabase.WriteGroupedAsync(tenant, () => [TenantDatabase.Statement(Insert, new DateOnly(2001, 1, 3), 7L)]);
        var count = await tenantDatabase.ReadAsync(tenant, TenantDatabase.Statement("SELECT count(*) FROM tenant_usage_metrics"), async reader =>
        {
            await reader.ReadAsync();
            return reader.GetInt64(0);
        });

        count.Should().Be(1);
        tenantDatabase.GroupCommits.Should().Be(0);
    }
}
