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
}
