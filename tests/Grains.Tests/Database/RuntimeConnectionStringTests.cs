using Npgsql;

namespace Shohayota.Grains.Tests.Database;

/// <summary>The runtime role's data source prepares its statements unless the operator's connection string says otherwise.</summary>
public sealed class AutoPrepareTests
{
    [Fact]
    public void AConnectionStringWithoutTheSettingGetsAutomaticPreparation()
    {
        var result = new NpgsqlConnectionStringBuilder(GrainsExtensions.WithAutoPrepare("Host=/tmp/pg;Username=shohayota_app;Password=secret;Database=shohayota"));

        result.MaxAutoPrepare.Should().Be(64);
        (result.Host, result.Username, result.Password, result.Database).Should().Be(("/tmp/pg", "shohayota_app", "secret", "shohayota"));
    }

    [Theory]
    [InlineData("Host=h;Max Auto Prepare=0", 0)]
    [InlineData("Host=h;MaxAutoPrepare=3", 3)]
    [InlineData("Host=h;max auto prepare=7", 7)]
    public void AnOperatorsOwnSettingIsKept(string connectionString, int expected) =>
        new NpgsqlConnectionStringBuilder(GrainsExtensions.WithAutoPrepare(connectionString)).MaxAutoPrepare.Should().Be(expected);
}
