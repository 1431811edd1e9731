using Microsoft.Extensions.Configuration;
using Orleans.Configuration;
using Shohayota.Grains.Hosting;
using Shohayota.Silo.Hosting;

namespace Shohayota.Silo.Tests.Hosting;

public sealed class ClusterShutdownTests
{
    [Fact]
    public void DefaultsBoundTheShutdownToFifteenSecondsAndProbeEveryTwoSeconds()
    {
        var options = ClusterShutdown.Read(Configuration());
        var orleans = new ClusterMembershipOptions();
        ClusterShutdown.Apply(options.Membership, orleans);

        options.ShutdownTimeout.Should().Be(TimeSpan.FromSeconds(15));
        ClusterShutdown.HostTimeout(options.ShutdownTimeout).Should().BeLessThan(options.ShutdownTimeout - ShutdownWatchdog.ExitAllowance);
        orleans.ProbeTimeout.Should().Be(TimeSpan.FromSeconds(2));
        orleans.NumMissedProbesLimit.Should().Be(3);
        orleans.NumVotesForDeathDeclaration.Should().Be(2);
        orleans.TableRefreshTimeout.Should().Be(TimeSpan.FromSeconds(10));
        orleans.DeathVoteExpirationTimeout.Should().Be(TimeSpan.FromSeconds(60));
        orleans.EnableIndirectProbes.Should().BeTrue();
    }

    [Fact]
    public void ConfiguredValuesReachOrleans()
    {
        var options = ClusterShutdown.Read(Configuration(
            ("Shohayota:Cluster:ShutdownTimeout", "00:00:25"),
            ("Shohayota:Cluster:Membership:ProbeTimeout", "00:00:03"),
            ("Shohayota:Cluster:Membership:NumVotesForDeathDeclaration", "3"),
            ("Shohayota:Cluster:Membership:EnableIndirectProbes", "false")));
        var orleans = new ClusterMembershipOptions();
        ClusterShutdown.Apply(options.Membership, orleans);

        options.ShutdownTimeout.Should().Be(TimeSpan.FromSeconds(25));
        orleans.ProbeTimeout.Should().Be(TimeSpan.FromSeconds(3));
        orleans.NumVotesForDeathDeclaration.Should().Be(3);
        orleans.EnableIndirectProbes.Should().BeFalse();
    }

    [Theory]
    [InlineData("Shohayota:Cluster:ShutdownTimeout", "00:00:02", "ShutdownTimeout must be between")]
    [InlineData("Shohayota:Cluster:ShutdownTimeout", "15", "ShutdownTimeout must be between")] // 15 days, not seconds
    [InlineData("Shohayota:Cluster:ShutdownTimeout", "soon", "not of its type")]
    [InlineData("Shohayota:Cluster:Membership:ProbeTimeout", "00:00:00.1", "ProbeTimeout must be between")]
    [InlineData("Shohayota:Cluster:Membership:NumMissedProbesLimit", "1", "NumMissedProbesLimit must be between")]
    [InlineData("Shohayota:Cluster:Membership:NumVotesForDeathDeclaration", "0", "NumVotesForDeathDeclaration must be between")]
    [InlineData("Shohayota:Cluster:Membership:DeathVoteExpirationTimeout", "00:00:10", "DeathVoteExpirationTimeout must be between")]
    [InlineData("Shohayota:Cluster:Membership:TableRefreshTimeout", "00:00:00", "TableRefreshTimeout must be between")]
    public void AValueOutOfItsRangeRefusesTheStart(string key, string value, string message)
    {
        var read = () => ClusterShutdown.Read(Configuration((key, value)));

        read.Should().Throw<StartupRefusedException>().WithMessage($"*{message}*");
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
