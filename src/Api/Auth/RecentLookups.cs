using System.Collections.Concurrent;
using System.Diagnostics;

namespace Shohayota.Api.Auth;

/// <summary>
/// What this node last looked up about a credential (an API key, a support session), used for at most
/// <c>maxAge</c>: the bound on how long a change made through another node (a revocation, an ended session) goes
/// unnoticed here, plus one lookup. While an entry is in use it is looked up again in the background from half that age,
/// so a busy credential costs one lookup every <c>maxAge / 2</c> and no request waits for it. One lookup per key at a time;
/// at most <c>maxConcurrent</c> at once (a flood of made-up credentials queues here, not in the database); at most
/// <c>capacity</c> entries (a full cache drops expired ones at most once a second, then stops remembering new ones).
/// </summary>
public sealed class RecentLookups<TKey, TValue>(Func<TKey, Task<TValue>> fetch, TimeSpan maxAge, int capacity, int maxConcurrent) : IDisposable
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private readonly ConcurrentDictionary<TKey, Lazy<Task<Entry>>> _lookups = new();
    private readonly SemaphoreSlim _gate = new(maxConcurrent);
    private readonly long _maxAge = (long)(maxAge.TotalSeconds * Stopwatch.Frequency);
    private long _lastSweep;
    private long _lookupCount;

    /// <summary>Lookups made so far (for tests: a busy credential does not cost one per request).</summary>
    public long Lookups => Interlocked.Read(ref _lookupCount);

    /// <summary>The value for <paramref name="key"/>, from memory while it is younger than the maximum age.</summary>
    public async ValueTask<TValue> GetAsync(TKey key)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            var age = Stopwatch.GetTimestamp() - entry.FetchedAt;
            if (age < _maxAge)
            {
                if (age >= _maxAge / 2)
                {
                    _ = LookupAsync(key);
                }

                return entry.Value;
            }
        }

        return (await LookupAsync(key)).Value;
    }

    /// <summary>Forgets the entries that match (a change made through this node is seen here at once).</summary>
    public void Forget(Func<TKey, TValue, bool> match)
    {
        foreach (var (key, entry) in _entries)
        {
            if (match(key, entry.Value))
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    public void Dispose() => _gate.Dispose();

    private Task<Entry> LookupAsync(TKey key) =>
        _lookups.GetOrAdd(key, static (k, self) => new Lazy<Task<Entry>>(() => self.FetchAsync(k)), this).Value;

    private async Task<Entry> FetchAsync(TKey key)
    {
        try
        {
            await _gate.WaitAsync();
            try
            {
                Interlocked.Increment(ref _lookupCount);
                var entry = new Entry(await fetch(key), Stopwatch.GetTimestamp());
                Store(key, entry);
                return entry;
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            _lookups.TryRemove(key, out _);
        }
    }

    private void Store(TKey key, Entry entry)
    {
        if (_entries.Count >= capacity && !_entries.ContainsKey(key))
        {
            var now = Stopwatch.GetTimestamp();
            var last = Interlocked.Read(ref _lastSweep);
            if (now - last >= Stopwatch.Frequency && Interlocked.CompareExchange(ref _lastSweep, now, last) == last)
            {
                foreach (var (old, value) in _entries)
                {
                    if (now - value.FetchedAt >= _maxAge)
                    {
                        _entries.TryRemove(old, out _);
                    }
                }
            }

            if (_entries.Count >= capacity)
            {
                return;
            }
        }

        _entries[key] = entry;
    }

    private sealed record Entry(TValue Value, long FetchedAt);
}
