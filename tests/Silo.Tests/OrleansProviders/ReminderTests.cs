using System.Diagnostics;

namespace Shohayota.Silo.Tests.OrleansProviders;

[Collection(ProviderClusterCollection.Name)]
public sealed class ReminderTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task ARegisteredReminderFiresAndIsListed()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var grain = providers.GrainFactory.GetGrain<ITickingGrain>($"tenant-{Guid.NewGuid():N}/ticking");

        await grain.StartAsync(Period);
        var ticks = await WaitForTicksAsync(grain, atLeast: 2);

        ticks.Should().BeGreaterThanOrEqualTo(2);
        (await grain.ListRemindersAsync()).Should().Equal("tick");
        var row = (await RemindersAsync(providers)).Should().ContainSingle().Subject;
        row[0].Should().Be("tick");
        row[1].Should().Be((long)Period.TotalMilliseconds);
    }

    [Fact]
    public async Task UnregisteringAReminderRemovesItsRow()
    {
        await using var providers = await ProviderCluster.StartAsync();
        var grain = providers.GrainFactory.GetGrain<ITickingGrain>($"tenant-{Guid.NewGuid():N}/ticking");
        await grain.StartAsync(Period);
        var rowsWhileRegistered = await RemindersAsync(providers);

        await grain.StopAsync();

        rowsWhileRegistered.Should().ContainSingle();
        (await RemindersAsync(providers)).Should().BeEmpty();
        (await grain.ListRemindersAsync()).Should().BeEmpty();
    }

    private static async Task<int> WaitForTicksAsync(ITickingGrain grain, int atLeast)
    {
        var clock = Stopwatch.StartNew();
        var ticks = await grain.GetTicksAsync();
        while (ticks < atLeast && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100);
            ticks = await grain.GetTicksAsync();
        }

        return ticks;
    }

    private static Task<List<object?[]>> RemindersAsync(ProviderCluster providers) =>
        providers.QueryAsync("SELECT reminder_name, period_ms FROM orleans_reminders WHERE service_id = $1", providers.ServiceId);
}
