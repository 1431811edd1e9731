using Microsoft.Extensions.DependencyInjection;

namespace Shohayota.Silo.Tests.OrleansProviders;

[Collection(ProviderClusterCollection.Name)]
public sealed class ClusteringTests
{
    private const int Active = 3;
    private const int Dead = 6;

    [Fact]
    public async Task BothSilosJoinTheMembershipTableAsActive()
    {
        await using var providers = await ProviderCluster.StartAsync();

        var rows = await MembersAsync(providers);

        rows.Should().HaveCount(2);
        rows.Select(r => r.Status).Should().AllBeEquivalentTo(Active);
        rows.Select(r => r.Port).Should().BeEquivalentTo(providers.Cluster.Silos.Select(s => s.SiloAddress.Endpoint.Port));
        (await providers.QueryAsync("SELECT version FROM orleans_membership_version WHERE deployment_id = $1", providers.ClusterId))
            .Should().ContainSingle().Which[0].Should().BeOfType<int>().Which.Should().BePositive();
    }

    [Fact]
    public async Task ClientsFindTheSilosAsGatewaysInTheMembershipTable()
    {
        await using var providers = await ProviderCluster.StartAsync();

        var value = await providers.GrainFactory.GetGrain<ICounterGrain>($"gateway/{Guid.NewGuid():N}").AddAsync(1);

        value.Should().Be(1);
        (await MembersAsync(providers)).Should().OnlyContain(r => r.ProxyPort > 0);
    }

    [Fact]
    public async Task ASiloThatStopsIsMarkedDead()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var leaving = providers.SecondSilo;

        await providers.Cluster.StopSiloAsync(leaving);

        var rows = await MembersAsync(providers);
        rows.Should().ContainSingle(r => r.Port == leaving.SiloAddress.Endpoint.Port && r.Generation == leaving.SiloAddress.Generation)
            .Which.Status.Should().Be(Dead);
        rows.Should().ContainSingle(r => r.Port == providers.FirstSilo.SiloAddress.Endpoint.Port)
            .Which.Status.Should().Be(Active);
    }

    [Fact]
    public async Task DefunctSiloCleanupRemovesOnlyDeadSilosOlderThanTheCutoff()
    {
        await using var providers = await ProviderCluster.StartAsync();
        await providers.Cluster.StopSiloAsync(providers.SecondSilo);
        var table = providers.FirstSiloServices.GetRequiredService<IMembershipTable>();

        await table.CleanupDefunctSiloEntriesAsync(DateTimeOffset.UtcNow.AddHours(-1));
        var afterAnEarlyCutoff = await MembersAsync(providers);
        await table.CleanupDefunctSiloEntriesAsync(DateTimeOffset.UtcNow.AddMinutes(1));
        var afterALateCutoff = await MembersAsync(providers);

        afterAnEarlyCutoff.Should().HaveCount(2);
        afterALateCutoff.Should().ContainSingle()
            .Which.Port.Should().Be(providers.FirstSilo.SiloAddress.Endpoint.Port);
    }

    private static async Task<List<Member>> MembersAsync(ProviderCluster providers) =>
        (await providers.QueryAsync(
            "SELECT port, generation, status, proxy_port FROM orleans_membership WHERE deployment_id = $1",
            providers.ClusterId))
        .Select(r => new Member((int)r[0]!, (int)r[1]!, (int)r[2]!, (int)r[3]!))
        .ToList();

    private sealed record Member(int Port, int Generation, int Status, int ProxyPort);
}
