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
}
