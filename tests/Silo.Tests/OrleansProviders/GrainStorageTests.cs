using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Shohayota.Silo.Tests.OrleansProviders;

[Collection(ProviderClusterCollection.Name)]
public sealed class GrainStorageTests
{
    [Fact]
    public async Task StateIsReadBackAfterTheGrainDeactivates()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var key = $"tenant-{Guid.NewGuid():N}/counter";
        var grain = providers.GrainFactory.GetGrain<ICounterGrain>(key);
        await grain.AddAsync(5);
        await grain.AddAsync(2);

        await grain.DeactivateAsync();
        var value = await grain.GetAsync();

        value.Should().Be(7);
        var row = (await StateRowsAsync(providers, key)).Should().ContainSingle().Subject;
        row.StateName.Should().Be("counter");
        row.Json.Should().Be("""{"Value":7}""");
        row.Version.Should().Be(2);
    }

    [Fact]
    public async Task AWriteWithAStaleETagThrowsInconsistentStateException()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var grain = providers.GrainFactory.GetGrain<ICounterGrain>($"tenant-{Guid.NewGuid():N}/counter");
        await grain.AddAsync(1);
        var storage = providers.FirstSiloServices.GetRequiredKeyedService<IGrainStorage>(ProviderCluster.Store);
        var otherWriter = new GrainState<CounterState>();
        await storage.ReadStateAsync("counter", grain.GetGrainId(), otherWriter);
        otherWriter.State = new CounterState { Value = 100 };
        await storage.WriteStateAsync("counter", grain.GetGrainId(), otherWriter);

        var staleWrite = () => grain.AddAsync(1);

        await staleWrite.Should().ThrowAsync<InconsistentStateException>();
        await grain.DeactivateAsync();
        (await grain.GetAsync()).Should().Be(100);
    }

    [Fact]
    public async Task AFirstWriteConflictsWhenAnotherWriterCreatedTheStateMeanwhile()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var grain = providers.GrainFactory.GetGrain<ICounterGrain>($"tenant-{Guid.NewGuid():N}/counter");
        await grain.GetAsync();
        var storage = providers.FirstSiloServices.GetRequiredKeyedService<IGrainStorage>(ProviderCluster.Store);
        await storage.WriteStateAsync("counter", grain.GetGrainId(), new GrainState<CounterState>(new CounterState { Value = 40 }));

        var staleWrite = () => grain.AddAsync(1);

        await staleWrite.Should().ThrowAsync<InconsistentStateException>();
    }

    [Fact]
    public async Task ClearedStateReadsAsEmptyAndAStaleWriterStillConflicts()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var key = $"tenant-{Guid.NewGuid():N}/counter";
        var grain = providers.GrainFactory.GetGrain<ICounterGrain>(key);
        await grain.AddAsync(3);
        var storage = providers.FirstSiloServices.GetRequiredKeyedService<IGrainStorage>(ProviderCluster.Store);
        var staleWriter = new GrainState<CounterState>();
        await storage.ReadStateAsync("counter", grain.GetGrainId(), staleWriter);

        await grain.ClearAsync();
        await grain.DeactivateAsync();
        var value = await grain.GetAsync();
        var staleWrite = () => storage.WriteStateAsync("counter", grain.GetGrainId(), staleWriter);

        value.Should().Be(0);
        (await StateRowsAsync(providers, key)).Should().ContainSingle().Which.Json.Should().BeNull();
        await staleWrite.Should().ThrowAsync<InconsistentStateException>();
    }

    [Fact]
    public async Task ClearingWithDeleteStateOnClearRemovesTheRowAndTheStateCanBeWrittenAgain()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var key = $"tenant-{Guid.NewGuid():N}/note";
        var grain = providers.GrainFactory.GetGrain<INoteGrain>(key);
        await grain.SetAsync("first");

        await grain.ClearAsync();
        var rowsAfterClear = await StateRowsAsync(providers, key);
        await grain.SetAsync("second");
        await grain.DeactivateAsync();

        rowsAfterClear.Should().BeEmpty();
        (await grain.GetAsync()).Should().Be("second");
    }

    [Fact]
    public async Task TwoGrainClassesWithTheSameKeyAndDifferentStateNamesKeepTheirOwnState()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var key = $"tenant-{Guid.NewGuid():N}/shared";
        var counter = providers.GrainFactory.GetGrain<ICounterGrain>(key);
        var score = providers.GrainFactory.GetGrain<IScoreGrain>(key);

        await counter.AddAsync(5);
        await score.AddAsync(11);
        await counter.DeactivateAsync();
        await score.DeactivateAsync();

        (await counter.GetAsync()).Should().Be(5);
        (await score.GetAsync()).Should().Be(11);
        (await StateRowsAsync(providers, key)).Select(r => r.StateName).Should().BeEquivalentTo("counter", "score");
    }

    [Fact]
    public async Task HexLookingStringKeysAndIntegerKeysWithExtensionsKeepTheirOwnState()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var number = Random.Shared.NextInt64(1, long.MaxValue);
        var hexLooking = number.ToString("x", CultureInfo.InvariantCulture);
        var named = providers.GrainFactory.GetGrain<ICounterGrain>($"tenant-{hexLooking}/counter");
        var hex = providers.GrainFactory.GetGrain<ICounterGrain>(hexLooking);
        var numbered = providers.GrainFactory.GetGrain<INumberedCounterGrain>(number, "ext");

        await named.AddAsync(1);
        await hex.AddAsync(2);
        await numbered.AddAsync(3);
        await Task.WhenAll(named.DeactivateAsync(), hex.DeactivateAsync(), numbered.DeactivateAsync());

        (await named.GetAsync()).Should().Be(1);
        (await hex.GetAsync()).Should().Be(2);
        (await numbered.GetAsync()).Should().Be(3);
        var rows = await providers.QueryAsync(
            "SELECT grain_id_n1, grain_id_extension FROM orleans_storage WHERE service_id = $1 AND grain_id_n1 = $2",
            providers.ServiceId,
            number);
        rows.Select(r => r[1]).Should().BeEquivalentTo(new object?[] { null, "ext" });
    }

    private static async Task<List<StateRow>> StateRowsAsync(ProviderCluster providers, string key) =>
        (await providers.QueryAsync(
            "SELECT grain_type, payload, version FROM orleans_storage WHERE service_id = $1 AND grain_id_extension = $2",
            providers.ServiceId,
            key))
        .Select(r => new StateRow((string)r[0]!, r[1] is byte[] payload ? Encoding.UTF8.GetString(payload) : null, (int)r[2]!))
        .ToList();

    private sealed record StateRow(string StateName, string? Json, int Version);
}
