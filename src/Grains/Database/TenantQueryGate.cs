namespace Shohayota.Grains.Database;

/// <summary>
/// At most <see cref="Limit"/> (the node's cores) list or search queries of one tenant run at once on this node; the
/// others wait their turn in one queue per tenant, in order. The query grains of customers, contacts, deals and activities
/// interleave their <c>List</c> calls (<c>[ReadOnly]</c>, which the isolation filter also reads as "a read"), so without
/// this gate a burst ran every query at once in PostgreSQL: sixteen searches of one tenant on two cores ran up to eleven
/// at a time, each stretched to tens or hundreds of milliseconds. Other tenants have queues of their own; a tenant's
/// entry is dropped when its last query leaves, so the gate holds only tenants with queries in flight.
/// </summary>
public sealed class TenantQueryGate
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

    /// <summary>Waits for the tenant's turn; dispose the answer when the query is done.</summary>
    public async ValueTask<Turn> EnterAsync(Guid tenantId, CancellationToken cancellationToken = default)
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

        try
        {
            await entry.Slots.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(tenantId, entry, entered: false);
            throw;
        }

        return new Turn(this, tenantId, entry);
    }

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
