using System.Collections.Concurrent;
using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.TestSupport;

namespace Shohayota.Grains.Tests.Database;

public sealed class PoolStressTests
{
    [Fact]
    public async Task ManyTenantsOverASmallPoolWithAbortedTransactionsOnlyEverSeeTheirOwnRows()
    {
        var database = await TestDatabase.SharedAsync();
        var tenants = Enumerable.Range(0, 24).Select(_ => Guid.NewGuid()).ToArray();
        await SeedAsync(database, tenants);
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database.AppConnectionString) { MaxPoolSize = 4 }.ConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var mismatches = new ConcurrentBag<string>();
        var checkedRows = 0L;

        await Parallel.ForEachAsync(Enumerable.Range(0, 3000), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            var tenant = tenants[i % tenants.Length];
            switch (i % 10)
            {
                case 0:
                    await using (var aborted = await tenantDatabase.BeginAsync(tenant))
                    {
                        var failing = () => aborted.ExecuteAsync("SELECT 1 / 0");
                        await failing.Should().ThrowAsync<PostgresException>();
                    }

                    break;
                case 1:
                    await using (var abandoned = await tenantDatabase.BeginAsync(tenant))
                    {
                        await abandoned.ExecuteAsync("UPDATE customers SET notes = 'never committed'");
                    }

                    break;
                case 2:
                    await using (var connection = await dataSource.OpenConnectionAsync())
                    await using (var command = new NpgsqlCommand("SELECT count(*) FROM customers", connection))
                    {
                        var leaked = (long)(await command.ExecuteScalarAsync())!;
                        if (leaked != 0)
                        {
                            mismatches.Add($"no tenant set, yet {leaked} rows visible");
                        }
                    }

                    break;
                default:
                    await using (var transaction = await tenantDatabase.BeginAsync(tenant))
                    await using (var read = transaction.Command("SELECT tenant_id, notes FROM customers"))
                    await using (var reader = await read.ExecuteReaderAsync())
                    {
                        var rows = 0;
                        while (await reader.ReadAsync())
                        {
                            rows++;
                            Interlocked.Increment(ref checkedRows);
                            if (reader.GetGuid(0) != tenant || !reader.IsDBNull(1))
                            {
                                mismatches.Add($"{tenant} saw a row of {reader.GetGuid(0)} (notes {(reader.IsDBNull(1) ? "null" : reader.GetString(1))})");
                            }
                        }

                        if (rows != 3)
                        {
                            mismatches.Add($"{tenant} saw {rows} rows instead of its 3");
                        }
                    }

                    break;
            }
        });

        mismatches.Should().BeEmpty();
        checkedRows.Should().BeGreaterThan(5000);
    }

    private static async Task SeedAsync(TestDatabase database, Guid[] tenants)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        foreach (var tenant in tenants)
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO customers (tenant_id, id, name, status, created_at, updated_at, version) SELECT $1, gen_random_uuid(), 'c' || g, 'lead', now(), now(), 1 FROM generate_series(1, 3) g",
                connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
            await insert.ExecuteNonQueryAsync();
        }
    }
}
