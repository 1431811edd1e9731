using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Database;

/// <summary>
/// At most <see cref="Limit"/> (the node's cores) searches of one tenant (customers' and contacts' <c>q</c>) run at once
/// on this node; the others wait their turn in one queue per tenant, in order. The query grains interleave their
/// <c>List</c> calls (<c>[ReadOnly]</c>, which the isolation filter also reads as "a read"), so without this gate a burst
/// ran every search at once in PostgreSQL: sixteen searches of one tenant on two cores ran up to eleven at a time, each
/// stretched to tens or hundreds of milliseconds. Plain pages do not take turns: they are short index walks, and with
/// turns 64 connections' pages ran two at a time, a third fewer a second at twice the CPU (the idle threads' spinning).
/// Other tenants have queues of their own; a tenant's entry is dropped when its last search leaves, so the gate holds
/// only tenants with searches in flight. A search waits at most <see cref="TurnTimeout"/>
/// (<c>Shohayota:Limits:QueryTurnTimeout</c>) and then answers 429 tenant-busy.
/// </summary>
public sealed class TenantQueryGate(IOptions<QueryGateOptions> options)
{
    private readonly Dictionary<Guid, Entry> _entries = [];
    private readonly Lock _lock = new();

    /// <summary>One tenant's queries at once on this node: its cores.</summary>
    public int Limit { get; } = Environment.ProcessorCount;

    /// <summary>Tenants with queries running or waiting on this node.</summary>
    public int TenantsInFlight
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The longest a query waits for its turn (<see cref="QueryGateOptions.QueryTurnTimeout"/>).</summary>
    public TimeSpan TurnTimeout { get; } = options.Value.QueryTurnTimeout;

    /// <summary>
    /// Waits at most <see cref="TurnTimeout"/> for the tenant's turn: the turn (dispose it when the query is done), or
    /// null when the tenant's queue did not move in time; answer that with <see cref="Busy{T}"/>.
    /// </summary>
    public async ValueTask<Turn?> TryEnterAsync(Guid tenantId, CancellationToken cancellationToken = default)
    {
        Entry entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(tenantId, out entry!))
            {
                entry = new Entry(Limit);
                _entries[tenantId] = entry;
            }

            entry.Users++;
        }

        bool entered;
        try
        {
            entered = await entry.Slots.WaitAsync(TurnTimeout, cancellationToken);
        }
        catch
        {
            Leave(tenantId, entry, entered: false);
            throw;
        }

        if (!entered)
        {
            Leave(tenantId, entry, entered: false);
            return null;
        }

        return new Turn(this, tenantId, entry);
    }

    /// <summary>Retry-After of a tenant-busy answer.</summary>
    public static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A search that waited <see cref="TurnTimeout"/> without a turn: 429 tenant-busy with Retry-After (the tenant has too
    /// many at once, no fault of the node's), instead of an unbounded wait behind the tenant's other queries.
    /// </summary>
    public static Outcome<T> Busy<T>() => Outcome<T>.Later(Failure.TenantBusy,
        "Too many of this tenant's searches are running at once; retry shortly.", BusyRetryAfter);

    private void Leave(Guid tenantId, Entry entry, bool entered)
    {
        lock (_lock)
        {
            if (--entry.Users == 0)
            {
                _entries.Remove(tenantId);
            }
        }

        // After the removal, an entry that nobody uses any more may take its slot back: it is gone from the map.
        if (entered)
        {
            entry.Slots.Release();
        }
    }

    internal sealed class Entry(int limit)
    {
        public SemaphoreSlim Slots { get; } = new(limit, limit);

        public int Users { get; set; }
    }

    /// <summary>A query's turn: disposing it lets the tenant's next query in.</summary>
    public sealed class Turn : IDisposable
    {
        private readonly TenantQueryGate _gate;
        private readonly Guid _tenantId;
        private Entry? _entry;

        internal Turn(TenantQueryGate gate, Guid tenantId, Entry entry)
        {
            _gate = gate;
            _tenantId = tenantId;
            _entry = entry;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _entry, null) is { } entry)
            {
                _gate.Leave(_tenantId, entry, entered: true);
            }
        }
    }
}

/// <summary>How long a tenant's search waits for its turn on a node (<see cref="TenantQueryGate"/>).</summary>
public sealed class QueryGateOptions
{
    public const string SectionName = "Shohayota:Limits";

    /// <summary>
    /// Beyond it the search answers 429 tenant-busy with Retry-After: 2. At most 20 s: the grain call itself times out
    /// after Orleans' 30 s response timeout.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:20")]
    public TimeSpan QueryTurnTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
