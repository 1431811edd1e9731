using Microsoft.Extensions.Options;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Tests.Database;

/// <summary>The per-tenant gate of the list queries: a tenant's cores' worth at once, the rest in order, tenants apart.</summary>
public sealed class TenantQueryGateTests
{
    [Fact]
    public async Task ATenantGetsItsLimitOfTurnsAtOnceTheRestWaitInOrderAndOtherTenantsDoNotWait()
    {
        var gate = new TenantQueryGate(Options.Create(new QueryGateOptions()));
        var (tenant, other) = (Guid.NewGuid(), Guid.NewGuid());
        var held = new List<TenantQueryGate.Turn>();
        for (var i = 0; i < gate.Limit; i++)
        {
            held.Add((await gate.TryEnterAsync(tenant))!);
        }

        var first = gate.TryEnterAsync(tenant).AsTask();
        var second = gate.TryEnterAsync(tenant).AsTask();
        await Task.Delay(50);
        first.IsCompleted.Should().BeFalse("the tenant's limit is taken");
        second.IsCompleted.Should().BeFalse();

        var elsewhere = gate.TryEnterAsync(other).AsTask();
        elsewhere.IsCompletedSuccessfully.Should().BeTrue("another tenant has a queue of its own");
        (await elsewhere)!.Dispose();

        held[0].Dispose();
        (await first.WaitAsync(TimeSpan.FromSeconds(5))).Should().NotBeNull();
        second.IsCompleted.Should().BeFalse("one turn left, one waiter let in: the first to ask");

        held[1 % held.Count].Dispose();
        if (gate.Limit > 1)
        {
            (await second.WaitAsync(TimeSpan.FromSeconds(5))).Should().NotBeNull();
        }
        else
        {
            (await first)!.Dispose();
            (await second.WaitAsync(TimeSpan.FromSeconds(5))).Should().NotBeNull();
        }

        foreach (var turn in held.Skip(2).Append((await first)!).Append((await second)!))
        {
            turn.Dispose();
        }

        gate.TenantsInFlight.Should().Be(0, "a tenant without queries in flight holds nothing on the node");
    }

    [Fact]
    public async Task AWaiterThatIsCanceledLeavesNothingBehindAndDisposingATurnTwiceFreesOneSlot()
    {
        var gate = new TenantQueryGate(Options.Create(new QueryGateOptions()));
        var tenant = Guid.NewGuid();
        var held = new List<TenantQueryGate.Turn>();
        for (var i = 0; i < gate.Limit; i++)
        {
            held.Add((await gate.TryEnterAsync(tenant))!);
        }

        using var cancel = new CancellationTokenSource();
        var waiter = gate.TryEnterAsync(tenant, cancel.Token).AsTask();
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => waiter).Should().ThrowAsync<OperationCanceledException>();

        held[0].Dispose();
        held[0].Dispose();
        var next = (await gate.TryEnterAsync(tenant).AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!;
        var beyond = gate.TryEnterAsync(tenant).AsTask();
        await Task.Delay(50);
        beyond.IsCompleted.Should().BeFalse("the second dispose of one turn must not free a second slot");

        next.Dispose();
        (await beyond.WaitAsync(TimeSpan.FromSeconds(5)))!.Dispose();
        foreach (var turn in held.Skip(1))
        {
            turn.Dispose();
        }

        gate.TenantsInFlight.Should().Be(0);
    }

    [Fact]
    public async Task AWaitBeyondTheTurnTimeoutAnswersBusyLeavesNothingBehindAndTheQueueStillWorks()
    {
        var gate = new TenantQueryGate(Options.Create(new QueryGateOptions { QueryTurnTimeout = TimeSpan.FromMilliseconds(200) }));
        var tenant = Guid.NewGuid();
        var held = new List<TenantQueryGate.Turn>();
        for (var i = 0; i < gate.Limit; i++)
        {
            held.Add((await gate.TryEnterAsync(tenant))!);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        (await gate.TryEnterAsync(tenant)).Should().BeNull("the tenant's turns stayed taken past the timeout");
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(150), "it waited for its turn first");

        // A late waiter took no slot: one turn given back lets exactly one more in.
        held[0].Dispose();
        var next = await gate.TryEnterAsync(tenant);
        next.Should().NotBeNull();
        (await gate.TryEnterAsync(tenant)).Should().BeNull();
        next!.Dispose();
        foreach (var turn in held.Skip(1))
        {
            turn.Dispose();
        }

        gate.TenantsInFlight.Should().Be(0, "the waiters that gave up hold nothing on the node");
        var busy = TenantQueryGate.Busy<int>();
        busy.Failure.Should().Be(Failure.TenantBusy);
        busy.RetryAfter.Should().Be(TenantQueryGate.BusyRetryAfter);
    }
}
