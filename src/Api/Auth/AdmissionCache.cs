using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

/// <summary>Per-node admission (section <c>Shohayota:Admission</c>).</summary>
public sealed class AdmissionOptions
{
    public const string SectionName = "Shohayota:Admission";

    /// <summary>Benchmark-only (S5): false admits every request without asking anyone. Never turn it off in production.</summary>
    public bool Enforce { get; set; } = true;

    /// <summary>How long a node admits from a lease without asking the TenantGrain: the longest a lost push can delay a suspension.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most admissions a node asks for at once (the grain also caps a node at half the tenant's burst).</summary>
    [Range(1, 1_000_000)]
    public int MaxLease { get; set; } = 10_000;

    /// <summary>False: the node does not register for revocations and relies on lease expiry alone (tests of that safety net).</summary>
    public bool Push { get; set; } = true;
}

/// <summary>
/// The node's admission cache: per tenant it serves, a lease from the tenant's TenantGrain (the rules — status, disabled
/// users — and a block of rate-limit tokens and monthly API calls already taken from the grain's bucket and counter).
/// Requests are admitted from the lease without a grain call; one renewal per tenant at a time (the others wait for it,
/// or go on admitting from what is left) reports the calls used, gives back unused ones and asks for a block sized from
/// the node's recent rate. The grain pushes a revocation when the rules change; the lease's expiry, measured on this
/// node's monotonic clock from when the renewal was sent, bounds a lost push.
/// </summary>
public sealed class AdmissionCache(
    IGrainFactory grains,
    CallerSigner signer,
    IOptions<AdmissionOptions> options,
    ILogger<AdmissionCache> logger) : IAdmissionObserver, IHostedService, IDisposable
{
    private static readonly Admission Disabled = new(false, Failure.UserDisabled, "This user account is disabled.");
    private static readonly Admission Busy = new(false, Failure.RateLimited, "Too many requests for this tenant right now.", 1);

    private readonly ConcurrentDictionary<Guid, TenantLease> _leases = new();
    private readonly Guid _nodeId = Guid.NewGuid();
    private readonly long _duration = (long)(options.Value.LeaseDuration.TotalSeconds * Stopwatch.Frequency);
    private readonly int _maxLease = options.Value.MaxLease;
    private IAdmissionObserver? _observer;
    private PeriodicTimer? _sweepTimer;
    private Task? _sweeping;

    private volatile bool _enforce = options.Value.Enforce;

    /// <summary>Whether requests are admitted at all: <c>Shohayota:Admission:Enforce</c>, or the benchmark-only switch below.</summary>
    public bool Enforce => _enforce;

    /// <summary>
    /// Benchmark-only (bench S5, <c>PUT /api/admin/benchmark/admission</c>, mapped only in the Benchmark environment): turns
    /// enforcement off or on in this process, so S5 and its baseline run in the same process, one after the other.
    /// </summary>
    internal void SwitchEnforcement(bool enforce)
    {
        _enforce = enforce;
        if (!enforce)
        {
            logger.LogWarning("BENCHMARK-ONLY SWITCH: admission enforcement turned off on this node; every request is admitted unchecked and uncounted");
        }
    }

    /// <summary>Is this user of the tenant allowed to read (or write) now? Without a grain call while the lease lasts.</summary>
    /// <remarks><paramref name="person"/> false (an API key): not counted among the tenant's active users.</remarks>
    public ValueTask<Admission> AdmitAsync(Guid tenantId, Guid userId, bool write, bool person = true)
    {
        var lease = _leases.GetOrAdd(tenantId, static id => new TenantLease(id));
        return TryAdmit(lease, userId, write, person) is { } decided ? ValueTask.FromResult(decided) : RenewThenAdmitAsync(lease, userId, write, person);
    }

    private async ValueTask<Admission> RenewThenAdmitAsync(TenantLease lease, Guid userId, bool write, bool person)
    {
        // A few rounds: the block a renewal brings may be taken by the requests that waited with this one. While the month's
        // last calls are on other nodes' leases (being given back), wait for them rather than refuse: the quota is exact.
        // The waiting requests are counted, so the next renewal asks for them too: a burst on a cold lease is not refused
        // for want of a block the tenant's rate would grant. A lease that ended before its waiting requests could use it
        // (an answer slower than LeaseDuration on an overloaded node, or a revocation that gave the block back) admits
        // nobody and is not counted as a round, up to 5 s.
        var started = Stopwatch.GetTimestamp();
        var deadline = started + Math.Min(2 * _duration, 5 * Stopwatch.Frequency);
        var patience = started + (5 * Stopwatch.Frequency);
        Interlocked.Increment(ref lease.Waiting);
        try
        {
            for (var round = 0; ;)
            {
                await RenewAsync(lease);
                if (TryAdmit(lease, userId, write, person) is { } decided)
                {
                    return decided;
                }

                var state = lease.State;
                var now = Stopwatch.GetTimestamp();
                if (state is { HeldElsewhere: true } && now < deadline)
                {
                    await Task.Delay(10);
                }
                else if (state?.Refusal is { } refused)
                {
                    return refused;
                }
                else if ((state is null || state.Revoked || now >= state.ExpiresAt) && now < patience)
                {
                    // The lease ended before these requests could use it: its answer arrived too late, or a revocation (a
                    // change of the rules, or another node waiting for the month's last calls) gave its block back. Ask
                    // again, not counted as a round: the block was never refused to them. After a revocation, not at once:
                    // while the rules keep changing, a renewal every few milliseconds, not one per answer.
                    if (state is null || state.Revoked)
                    {
                        await Task.Delay(5);
                    }

                    continue;
                }
                else if (++round > 2)
                {
                    return Busy;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref lease.Waiting);
        }
    }

    private Admission? TryAdmit(TenantLease lease, Guid userId, bool write, bool person)
    {
        var now = Stopwatch.GetTimestamp();
        var state = lease.State;
        if (state is null || state.Revoked || now >= state.ExpiresAt)
        {
            return null;
        }

        if (state.Disabled.Contains(userId))
        {
            return Disabled;
        }

        if ((write ? state.Rules.WriteRefusal : state.Rules.ReadRefusal) is { } refused)
        {
            return refused;
        }

        if (state.Rules.Unmetered)
        {
            return Admission.Granted;
        }

        if (lease.TryTake())
        {
            Interlocked.Increment(ref lease.Used);
            if (person && !lease.Seen.ContainsKey(userId))
            {
                lease.Seen.TryAdd(userId, 0);
            }

            if (now >= state.RenewFrom || Volatile.Read(ref lease.Remaining) <= state.LowWater)
            {
                // Renew ahead, in the background: the requests that follow admit from what is left meanwhile.
                _ = RenewAsync(lease).ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }

            return Admission.Granted;
        }

        return state.Refusal is { } limited && now < state.RefusedUntil ? limited : null;
    }

    /// <summary>The tenant's renewal in flight, or a new one: never two at once for a tenant on this node.</summary>
    private Task RenewAsync(TenantLease lease, bool release = false)
    {
        var running = Volatile.Read(ref lease.Renewal);
        if (running is { IsCompleted: false })
        {
            return running;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref lease.Renewal, done.Task, running) != running)
        {
            return Volatile.Read(ref lease.Renewal) ?? Task.CompletedTask;
        }

        // Its own flow: the renewal acts as the node (system caller), not as the request that happened to start it.
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => RenewCoreAsync(lease, done, release));
        }

        return done.Task;
    }

    private async Task RenewCoreAsync(TenantLease lease, TaskCompletionSource done, bool release)
    {
        var (used, unused, seen, reported) = (0, 0, Array.Empty<Guid>(), false);
        try
        {
            var sentAt = Stopwatch.GetTimestamp();
            var revocations = Volatile.Read(ref lease.Revocations);
            var state = lease.State;
            var expired = release || state is null || state.Revoked || sentAt >= state.ExpiresAt;
            unused = expired ? Interlocked.Exchange(ref lease.Remaining, 0) : 0;
            used = Interlocked.Exchange(ref lease.Used, 0);
            seen = lease.DrainSeen();
            var want = release ? 0 : NextWant(lease, used, sentAt);
            lease.LastRenewal = sentAt;
            signer.EnterSystem();
            var answer = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(lease.TenantId)).LeaseAsync(new AdmissionLeaseRequest(
                _nodeId, options.Value.Push ? Observer : null, state?.Version ?? 0, want, used, unused, seen, options.Value.LeaseDuration));
            reported = true;
            if (release)
            {
                lease.State = null;
            }
            else
            {
                if (answer.Granted > 0)
                {
                    Interlocked.Add(ref lease.Remaining, answer.Granted);
                }

                var rules = answer.Rules ?? state?.Rules ?? throw new InvalidOperationException("The tenant's admission rules were not sent.");
                var retryAfter = (long)(Math.Max(0, answer.Refusal?.RetryAfterSeconds ?? 0) * Stopwatch.Frequency);
                lease.State = new LeaseState(
                    answer.Version,
                    rules,
                    answer.Rules is null && state is not null ? state.Disabled : new HashSet<Guid>(rules.DisabledUsers),
                    ExpiresAt: sentAt + _duration,
                    RenewFrom: sentAt + (_duration / 2),
                    LowWater: want / 4,
                    answer.Refusal,
                    // A rate limit holds until a token is due (within the lease); a quota refusal is asked again (the month may roll over).
                    RefusedUntil: answer.Refusal is { Failure: Failure.RateLimited } ? sentAt + Math.Min(retryAfter, _duration) : sentAt,
                    answer.HeldElsewhere,
                    // A revocation that arrived while this renewal was in flight may concern rules newer than the answer.
                    Revoked: Volatile.Read(ref lease.Revocations) != revocations);
            }

            done.SetResult();
        }
        catch (Exception e)
        {
            if (!reported)
            {
                // The grain did not get this report: it goes with the next renewal (else the calls stay counted, the tokens held).
                lease.Restore(used, unused, seen);
            }

            logger.LogWarning(e, "Could not renew the admission lease of tenant {TenantId}", lease.TenantId);
            done.SetException(e);
        }
    }

    /// <summary>
    /// From the node's recent rate: enough for a lease duration with room to spare, growing fast from a cold start; and
    /// at least twice the requests waiting for this renewal (a burst the rate has not seen yet).
    /// </summary>
    private int NextWant(TenantLease lease, int used, long now)
    {
        var elapsed = Math.Max(now - lease.LastRenewal, _duration / 4);
        var perLease = used * (double)_duration / elapsed;
        var want = Math.Max((long)Math.Ceiling(perLease * 2), 2L * Volatile.Read(ref lease.Waiting)) - Math.Max(0, Volatile.Read(ref lease.Remaining));
        return (int)Math.Clamp(want, 1, _maxLease);
    }

    /// <summary>
    /// Reports this node's use of the tenant's lease now and gives back the rest, so that a usage report that follows
    /// counts exactly the requests admitted here (other nodes' unspent leases are counted until they report).
    /// </summary>
    public async Task SettleAsync(Guid tenantId)
    {
        if (!Enforce || !_leases.TryGetValue(tenantId, out var lease))
        {
            return;
        }

        if (Volatile.Read(ref lease.Renewal) is { IsCompleted: false } running)
        {
            await running;
        }

        await RenewAsync(lease, release: true);
    }

    /// <summary>Admissions this node holds on a live lease of the tenant (0 when none, expired or revoked).</summary>
    public int Holding(Guid tenantId) =>
        _leases.TryGetValue(tenantId, out var lease) && lease.State is { Revoked: false } state && Stopwatch.GetTimestamp() < state.ExpiresAt
            ? Math.Max(0, Volatile.Read(ref lease.Remaining))
            : 0;

    private IAdmissionObserver Observer => _observer ??= grains.CreateObjectReference<IAdmissionObserver>(this);

    /// <summary>Pushed by a TenantGrain whose rules changed: the next request of the tenant renews first.</summary>
    public Task RevokeAsync(Guid tenantId)
    {
        if (_leases.TryGetValue(tenantId, out var lease))
        {
            Interlocked.Increment(ref lease.Revocations);
            if (lease.State is { } state)
            {
                lease.State = state with { Revoked = true };
            }

            // Give back at once what the lease holds (another node may be waiting for the month's last calls).
            _ = RenewAsync(lease, release: true).ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromTicks(Math.Min(options.Value.LeaseDuration.Ticks, TimeSpan.TicksPerSecond));
        _sweepTimer = new PeriodicTimer(interval);
        _sweeping = SweepAsync(_sweepTimer);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the sweep, then gives back every lease this node holds (after the web server has stopped taking requests, and
    /// before the silo or client stops): the unused admissions come off the tenants' monthly API calls, the used ones are
    /// reported, instead of staying counted and held until each TenantGrain forgets the lease.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _sweepTimer?.Dispose();
        if (_sweeping is not null)
        {
            await _sweeping;
        }

        var releases = _leases.Values.Where(l => l.HasReport).Select(ReleaseAsync).ToList();
        try
        {
            await Task.WhenAll(releases).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Stopped before every admission lease was given back; those TenantGrains forget them when they expire");
        }
    }

    /// <summary>Ends the lease at the grain (after a renewal in flight); a failure is logged by the renewal and the grain forgets the lease by itself.</summary>
    private async Task ReleaseAsync(TenantLease lease)
    {
        try
        {
            if (Volatile.Read(ref lease.Renewal) is { IsCompleted: false } running)
            {
                await running;
            }
        }
        catch (Exception)
        {
            // Its report was put back: the release carries it.
        }

        try
        {
            await RenewAsync(lease, release: true);
        }
        catch (Exception)
        {
            // Logged by the renewal.
        }
    }

    /// <summary>
    /// Gives back what expired leases hold (unused admissions, the count of used ones, users seen) so the grain's counter
    /// equals the requests admitted, and forgets tenants idle for a while (the cache stays as large as the traffic).
    /// </summary>
    private async Task SweepAsync(PeriodicTimer timer)
    {
        while (await timer.WaitForNextTickAsync())
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var (tenantId, lease) in _leases)
            {
                var state = lease.State;
                if (state is not null && !state.Revoked && now < state.ExpiresAt || lease.Renewal is { IsCompleted: false })
                {
                    continue;
                }

                if (lease.HasReport)
                {
                    try
                    {
                        await RenewAsync(lease, release: true);
                    }
                    catch (Exception)
                    {
                        // Logged by the renewal; the grain forgets the lease by itself.
                    }
                }
                else if (now - lease.LastRenewal > 30 * _duration)
                {
                    _leases.TryRemove(new KeyValuePair<Guid, TenantLease>(tenantId, lease));
                }
            }
        }
    }

    public void Dispose() => _sweepTimer?.Dispose();

    private sealed record LeaseState(
        long Version,
        AdmissionRules Rules,
        IReadOnlySet<Guid> Disabled,
        long ExpiresAt,
        long RenewFrom,
        int LowWater,
        Admission? Refusal,
        long RefusedUntil,
        bool HeldElsewhere,
        bool Revoked);

    private sealed class TenantLease(Guid tenantId)
    {
        public readonly ConcurrentDictionary<Guid, byte> Seen = new();
        public volatile LeaseState? State;
        public Task? Renewal;
        public int Remaining;
        public int Used;
        public int Revocations;

        /// <summary>Requests waiting for a renewal (none of the block was left for them).</summary>
        public int Waiting;

        public long LastRenewal = Stopwatch.GetTimestamp();

        public Guid TenantId { get; } = tenantId;

        /// <summary>Something to tell the grain: admissions held or used, users seen, or a lease it knows of.</summary>
        public bool HasReport => Volatile.Read(ref Remaining) > 0 || Volatile.Read(ref Used) > 0 || !Seen.IsEmpty || State is not null;

        /// <summary>Takes one admission of the block; never below zero.</summary>
        public bool TryTake()
        {
            var remaining = Volatile.Read(ref Remaining);
            while (remaining > 0)
            {
                var seen = Interlocked.CompareExchange(ref Remaining, remaining - 1, remaining);
                if (seen == remaining)
                {
                    return true;
                }

                remaining = seen;
            }

            return false;
        }

        /// <summary>Puts back what a renewal that did not reach the grain took to report.</summary>
        public void Restore(int used, int unused, Guid[] seen)
        {
            Interlocked.Add(ref Used, used);
            Interlocked.Add(ref Remaining, unused);
            foreach (var user in seen)
            {
                Seen.TryAdd(user, 0);
            }
        }

        public Guid[] DrainSeen()
        {
            if (Seen.IsEmpty)
            {
                return [];
            }

            var users = new List<Guid>();
            foreach (var user in Seen.Keys)
            {
                if (Seen.TryRemove(user, out _))
                {
                    users.Add(user);
                }
            }

            return [.. users];
        }
    }
}

public static class AdmissionCacheExtensions
{
    /// <summary>The node's admission cache (<see cref="AdmissionCache"/>) and its options, validated at start.</summary>
    public static WebApplicationBuilder AddShohayotaAdmission(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AdmissionOptions>().BindConfiguration(AdmissionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<AdmissionCache>();
        builder.Services.AddSingleton<ApiKeyRateLeases>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AdmissionCache>());
        return builder;
    }
}
