using Npgsql;

namespace Shohayota.Grains.Tests.Database;

/// <summary>
/// The runtime role's data source prepares its statements and skips the pool's reset statements, unless the operator's
/// connection string says otherwise (what the skipped reset would have wiped is checked in <c>TenantTransactionTests</c>).
/// </summary>
public sealed class RuntimeConnectionStringTests
{
    [Fact]
    public void AConnectionStringWithoutTheSettingsGetsAutomaticPreparationAndNoResetOnClose()
    {
        var result = new NpgsqlConnectionStringBuilder(GrainsExtensions.RuntimeConnectionString("Host=/tmp/pg;Username=shohayota_app;Password=secret;Database=shohayota"));

        result.MaxAutoPrepare.Should().Be(64);
        result.NoResetOnClose.Should().BeTrue();
        (result.Host, result.Username, result.Password, result.Database).Should().Be(("/tmp/pg", "shohayota_app", "secret", "shohayota"));
    }

    [Theory]
    [InlineData("Host=h;Max Auto Prepare=0", 0, true)]
    [InlineData("Host=h;MaxAutoPrepare=3", 3, true)]
    [InlineData("Host=h;max auto prepare=7;No Reset On Close=false", 7, false)]
    [InlineData("Host=h;noresetonclose=false", 64, false)]
    public void AnOperatorsOwnSettingsAreKept(string connectionString, int prepared, bool noReset)
    {
        var result = new NpgsqlConnectionStringBuilder(GrainsExtensions.RuntimeConnectionString(connectionString));

        (result.MaxAutoPrepare, result.NoResetOnClose).Should().Be((prepared, noReset));
    }

    [Theory]
    [InlineData("Host=h;Username=u;Password=p", 100, 0)]
    [InlineData("Host=h;MaxPoolSize=3;Minimum Pool Size=2", 3, 2)]
    [InlineData("Host=h;Maximum Pool Size=500;Minimum Pool Size=400", 500, 400)]
    public void SearchesGetAPoolOfTheirOwnOfAtMostFourConnectionsPerCoreUnderItsOwnName(string connectionString, int max, int min)
    {
        using var searches = GrainsExtensions.SearchDataSource(connectionString);
        using var shared = GrainsExtensions.RuntimeDataSource(connectionString);
        var pool = new NpgsqlConnectionStringBuilder(searches.ConnectionString);
        var sharedPool = new NpgsqlConnectionStringBuilder(shared.ConnectionString);

        GrainsExtensions.SearchPoolSize.Should().Be(4 * Environment.ProcessorCount);
        pool.MaxPoolSize.Should().Be(Math.Min(max, GrainsExtensions.SearchPoolSize));
        pool.MinPoolSize.Should().Be(Math.Min(min, pool.MaxPoolSize), "a minimum above the cap would not build");
        (sharedPool.MaxPoolSize, sharedPool.MinPoolSize).Should().Be((max, min), "the shared pool keeps the operator's sizes");
        (pool.MaxAutoPrepare, pool.NoResetOnClose).Should().Be((64, true), "searches get the runtime role's settings too");
    }
}
