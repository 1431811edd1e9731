using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Shohayota.Api.Auth;

/// <summary>
/// A node-local cache of at most <c>capacity</c> entries (0: keeps nothing), each good while <c>isLive(value, now)</c>
/// holds. When it is full, the entries no longer live are swept out, at most once per <c>sweepInterval</c> (a sweep walks
/// every entry); if that frees no room the new entry is simply not kept. Live entries are never evicted to make room, so a
/// full cache neither grows past its bound nor empties itself under a flood of new keys. Shared by the access-token cache
/// and the web UI's session check.
/// </summary>
public sealed class BoundedCache<TKey, TValue>(int capacity, Func<TValue, DateTimeOffset, bool> isLive, TimeSpan sweepInterval)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _entries = new();

    // Slots taken: counted before an entry goes in and after it came out, so the entries never outnumber the capacity.
    private int _taken;
    private long _nextSweepTicks;

    public int Capacity => capacity;

    /// <summary>Entries held now.</summary>
    public int Count => _entries.Count;

    /// <summary>The live entry of <paramref name="key"/>; an entry no longer live is dropped.</summary>
    public bool TryGet(TKey key, DateTimeOffset now, [MaybeNullWhen(false)] out TValue value)
    {
        if (_entries.TryGetValue(key, out var found))
        {
            if (isLive(found, now))
            {
                value = found;
                return true;
            }

            Remove(key, found);
        }

        value = default;
        return false;
    }

    /// <summary>Keeps <paramref name="value"/> for <paramref name="key"/> (replacing its entry); false when there is no room for a new key.</summary>
    public bool Set(TKey key, TValue value, DateTimeOffset now)
    {
        while (true)
        {
            if (_entries.TryGetValue(key, out var old))
            {
                if (_entries.TryUpdate(key, value, old))
                {
                    return true;
                }

                continue;
            }

            if (!TryTakeSlot(now))
            {
                return false;
            }

            if (_entries.TryAdd(key, value))
            {
                return true;
            }

            // Added by another request meanwhile: give the slot back and replace that entry.
            Interlocked.Decrement(ref _taken);
        }
    }

    public void Remove(TKey key)
    {
        if (_entries.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _taken);
        }
    }

    private void Remove(TKey key, TValue value)
    {
        if (_entries.TryRemove(new KeyValuePair<TKey, TValue>(key, value)))
        {
            Interlocked.Decrement(ref _taken);
        }
    }

    private bool TryTakeSlot(DateTimeOffset now)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (Interlocked.Increment(ref _taken) <= capacity)
            {
                return true;
            }

            Interlocked.Decrement(ref _taken);
            if (attempt == 0 && !Sweep(now))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Drops the entries no longer live, unless another sweep ran within the interval; whether this one ran.</summary>
    private bool Sweep(DateTimeOffset now)
    {
        var next = Interlocked.Read(ref _nextSweepTicks);
        // Also when the clock went back by more than an interval (a test's clock, a corrected wall clock).
        var due = now.UtcTicks >= next || next - now.UtcTicks > sweepInterval.Ticks;
        if (capacity <= 0 || !due || Interlocked.CompareExchange(ref _nextSweepTicks, now.UtcTicks + sweepInterval.Ticks, next) != next)
        {
            return false;
        }

        foreach (var (key, value) in _entries)
        {
            if (!isLive(value, now))
            {
                Remove(key, value);
            }
        }

        return true;
    }
}
