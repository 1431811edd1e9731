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

    [Fact]
    public void SearchesGetAPoolOfTheirOwnOfAtMostFourConnectionsPerCoreAndTheRuntimeRolesSettings()
    {
        var cap = GrainsExtensions.SearchPoolSize;

        cap.Should().Be(4 * Environment.ProcessorCount);
        Sizes("Host=h;Username=u;Password=p").Should().Be((Math.Min(100, cap), 0, 100, 0), "Npgsql's default of 100, capped for searches");
        Sizes("Host=h;MaxPoolSize=3;Minimum Pool Size=2").Should().Be((3, 2, 3, 2), "an operator's smaller pool is kept");
        Sizes($"Host=h;Maximum Pool Size={cap + 10};Minimum Pool Size={cap + 5}").Should().Be((cap, cap, cap + 10, cap + 5),
            "above the cap the search pool is capped, its minimum with it (a minimum above the maximum would not build); the shared pool keeps the operator's sizes");

        using var searches = GrainsExtensions.SearchDataSource("Host=h");
        var settings = new NpgsqlConnectionStringBuilder(searches.ConnectionString);
        (settings.MaxAutoPrepare, settings.NoResetOnClose).Should().Be((64, true), "searches get the runtime role's settings too");
    }

    /// <summary>The search pool's and the shared pool's most and fewest connections for this connection string.</summary>
    private static (int SearchMax, int SearchMin, int SharedMax, int SharedMin) Sizes(string connectionString)
    {
        using var searches = GrainsExtensions.SearchDataSource(connectionString);
        using var shared = GrainsExtensions.RuntimeDataSource(connectionString);
        var search = new NpgsqlConnectionStringBuilder(searches.ConnectionString);
        var runtime = new NpgsqlConnectionStringBuilder(shared.ConnectionString);
        return (search.MaxPoolSize, search.MinPoolSize, runtime.MaxPoolSize, runtime.MinPoolSize);
    }
}
