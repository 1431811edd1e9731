using Orleans.Runtime;

namespace Shohayota.Silo.Tests.OrleansProviders;

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    Task ClearAsync();

    Task DeactivateAsync();
}

public interface IScoreGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    Task DeactivateAsync();
}

public interface INoteGrain : IGrainWithStringKey
{
    Task SetAsync(string text);

    Task<string?> GetAsync();

    Task ClearAsync();

    Task DeactivateAsync();
}

public interface INumberedCounterGrain : IGrainWithIntegerCompoundKey
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    Task DeactivateAsync();
}

public interface ITickingGrain : IGrainWithStringKey
{
    Task StartAsync(TimeSpan period);

    Task StopAsync();

    Task<int> GetTicksAsync();

    Task<IReadOnlyList<string>> ListRemindersAsync();
}

public sealed class CounterState
{
    public int Value { get; set; }
}

public sealed class NoteState
{
    public string? Text { get; set; }
}

[GrainType("test-counter")]
public sealed class CounterGrain([PersistentState("counter", ProviderCluster.Store)] IPersistentState<CounterState> state)
    : Grain, ICounterGrain
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Value += amount;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Value);

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

[GrainType("test-score")]
public sealed class ScoreGrain([PersistentState("score", ProviderCluster.Store)] IPersistentState<CounterState> state)
    : Grain, IScoreGrain
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Value += amount;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Value);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

[GrainType("test-note")]
public sealed class NoteGrain([PersistentState("note", ProviderCluster.DeletingStore)] IPersistentState<NoteState> state)
    : Grain, INoteGrain
{
    public async Task SetAsync(string text)
    {
        state.State.Text = text;
        await state.WriteStateAsync();
    }

    public Task<string?> GetAsync() => Task.FromResult(state.State.Text);

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

// Shares CounterGrain's state name on purpose: only the key extension tells their rows apart.
[GrainType("test-numbered-counter")]
public sealed class NumberedCounterGrain([PersistentState("counter", ProviderCluster.Store)] IPersistentState<CounterState> state)
    : Grain, INumberedCounterGrain
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Value += amount;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Value);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

[GrainType("test-ticking")]
public sealed class TickingGrain : Grain, ITickingGrain, IRemindable
{
    private const string ReminderName = "tick";
    private int _ticks;

    public Task StartAsync(TimeSpan period) => this.RegisterOrUpdateReminder(ReminderName, period, period);

    public async Task StopAsync()
    {
        var reminder = await this.GetReminder(ReminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task<int> GetTicksAsync() => Task.FromResult(_ticks);

    public async Task<IReadOnlyList<string>> ListRemindersAsync() =>
        (await this.GetReminders()).Select(r => r.ReminderName).ToList();

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _ticks++;
        return Task.CompletedTask;
    }
}
