using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.TestSupport;

namespace Shohayota.Grains.Tests.Database;

public sealed class TenantTransactionTests
{
    [Fact]
    public async Task DisposingATransactionTwiceLeavesTheNextTransactionOnItsConnectionAlone()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        // One connection: the second transaction gets the first one's pooled connector.
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database.AppConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var first = await tenantDatabase.BeginAsync(tenant);
        await first.DisposeAsync();
        await using var second = await tenantDatabase.BeginAsync(tenant);
        await second.ExecuteAsync("SELECT 1");

        await first.DisposeAsync();
        var commit = () => second.CommitAsync();

        await commit.Should().NotThrowAsync();
    }

    [Fact]
    public async Task AOneRoundTripReadSeesItsTenantAndSettingsAndLeavesNothingOnThePooledConnection()
    {
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        // No reset on close: what the batch leaves on the connection is not wiped by the pool (DISCARD ALL) before we look.
        await using var dataSource = NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(database.AppConnectionString) { MaxPoolSize = 1, NoResetOnClose = true }.ConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);

        var inside = await tenantDatabase.ReadAsync(
            tenant,
            [
                TenantDatabase.Statement("SELECT current_setting('app.tenant_id', true), current_setting('statement_timeout')"),
                TenantDatabase.Statement("SELECT app_current_tenant()"),
            ],
            async reader =>
            {
                await reader.ReadAsync();
                var setting = (reader.GetString(0), reader.GetString(1));
                await reader.NextResultAsync();
                await reader.ReadAsync();
                return (setting.Item1, setting.Item2, reader.GetGuid(0));
            },
            [new("statement_timeout", "1234")]);

        // The same (only) pooled connection afterwards: the batch's transaction-local settings ended with it.
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var after = new NpgsqlCommand("SELECT coalesce(current_setting('app.tenant_id', true), ''), current_setting('statement_timeout')", connection);
        await using var reader = await after.ExecuteReaderAsync();
        await reader.ReadAsync();

        inside.Should().Be((tenant.ToString("D"), "1234ms", tenant));
        reader.GetString(0).Should().BeEmpty();
        reader.GetString(1).Should().Be("0");
    }

    [Fact]
    public async Task NoKindOfBatchLeavesSessionStateOnTheRuntimeRolesPooledConnection()
    {
        // The runtime data source skips the pool's reset (GrainsExtensions.RuntimeConnectionString): whatever a batch left
        // on its connection would reach the next request that gets it. One connection, so every step reuses it.
        var database = await TestDatabase.SharedAsync();
        var tenant = Guid.NewGuid();
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(
            GrainsExtensions.RuntimeConnectionString(database.AppConnectionString)) { MaxPoolSize = 1 }.ConnectionString);
        var tenantDatabase = new TenantDatabase(dataSource);
        var steps = new Dictionary<string, Func<Task>>
        {
            ["a read with settings"] = () => tenantDatabase.ReadAsync(tenant, TenantDatabase.Statement("SELECT 1"), reader => Task.FromResult(0),
                [new("statement_timeout", "4321")]),
            ["a read on the generic plan"] = () => tenantDatabase.ReadAsync(tenant, TenantDatabase.Statement("SELECT 1"), reader => Task.FromResult(0),
                TenantDatabase.GenericPlan),
            ["a write"] = () => tenantDatabase.WriteAsync(tenant, [TenantDatabase.Statement("SELECT app_current_tenant()")]),
            ["a failed write"] = async () =>
            {
                var failing = () => tenantDatabase.WriteAsync(tenant, [TenantDatabase.Statement("SELECT 1 / 0")]);
                await failing.Should().ThrowAsync<PostgresException>();
            },
            ["a committed transaction"] = async () =>
            {
                await using var transaction = await tenantDatabase.BeginAsync(tenant);
                await transaction.ExecuteAsync("SELECT 1");
                await transaction.CommitAsync();
            },
            ["an abandoned transaction"] = async () =>
            {
                await using var transaction = await tenantDatabase.BeginAsync(tenant);
                await transaction.ExecuteAsync("SELECT 1");
            },
        };

        int? backend = null;
        foreach (var (step, run) in steps)
        {
            await run();
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var after = new NpgsqlCommand(
                "SELECT pg_backend_pid(), coalesce(current_setting('app.tenant_id', true), ''), current_setting('statement_timeout'), app_current_tenant() IS NULL, " +
                "current_setting('plan_cache_mode')",
                connection);
            await using var reader = await after.ExecuteReaderAsync();
            await reader.ReadAsync();

            backend ??= reader.GetInt32(0);
            reader.GetInt32(0).Should().Be(backend, $"{step}: the same pooled connection each time");
            reader.GetString(1).Should().BeEmpty($"{step}: no tenant left on the session");
            reader.GetString(2).Should().Be("0", $"{step}: no statement timeout left on the session");
            reader.GetBoolean(3).Should().BeTrue($"{step}: row-level security sees no tenant");
            reader.GetString(4).Should().Be("auto", $"{step}: no plan mode left on the session");
        }
    }
}
