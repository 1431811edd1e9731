using Shohayota.Api.Auth;

namespace Shohayota.Api.Tests.Auth;

/// <summary>The bounded node-local cache of the access-token cache and the UI's session check: its bound and what it drops.</summary>
public sealed class BoundedCacheTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(10);

    [Fact]
    public void AFullCacheKeepsItsLiveEntriesAndDoesNotKeepANewOne()
    {
        var cache = Cache(3);
        var kept = Enumerable.Range(0, 3).Select(i => cache.Set($"k{i}", Start.AddHours(1), Start)).ToList();

        var newOne = cache.Set("new", Start.AddHours(1), Start);

        kept.Should().AllBeEquivalentTo(true);
        newOne.Should().BeFalse();
        cache.Count.Should().Be(3);
        Enumerable.Range(0, 3).Should().OnlyContain(i => Holds(cache, $"k{i}", Start), "a full cache does not empty itself for a new key");
        cache.TryGet("new", Start, out _).Should().BeFalse();
    }

    [Fact]
    public void AFullCacheMakesRoomByDroppingOnlyTheEntriesNoLongerLive()
    {
        var cache = Cache(3);
        cache.Set("short", Start.AddMinutes(1), Start);
        cache.Set("long-1", Start.AddHours(1), Start);
        cache.Set("long-2", Start.AddHours(1), Start);
        var later = Start.AddMinutes(2);

        var added = cache.Set("new", Start.AddHours(1), later);

        added.Should().BeTrue();
        cache.Count.Should().Be(3);
        new[] { "long-1", "long-2", "new" }.Should().OnlyContain(k => Holds(cache, k, later));
        cache.TryGet("short", later, out _).Should().BeFalse();
    }

    [Fact]
    public void AFullCacheLooksForEntriesToDropAtMostOncePerSweepInterval()
    {
        var cache = Cache(2);
        cache.Set("a", Start.AddSeconds(5), Start);
        cache.Set("b", Start.AddHours(1), Start);
        cache.Set("refused", Start.AddHours(1), Start);

        var withinTheInterval = cache.Set("c", Start.AddHours(1), Start.AddSeconds(6));
        var afterIt = cache.Set("d", Start.AddHours(1), Start + Sweep);

        withinTheInterval.Should().BeFalse("the sweep at the start found nothing to drop and the next one is not due");
        afterIt.Should().BeTrue("the next sweep drops the entry that expired meanwhile");
        cache.Count.Should().Be(2);
    }

    [Fact]
    public void AnEntryNoLongerLiveIsAMissAndLeaves()
    {
        var cache = Cache(2);
        cache.Set("a", Start.AddMinutes(1), Start);

        var hit = cache.TryGet("a", Start, out var value);
        var miss = cache.TryGet("a", Start.AddMinutes(1), out _);

        hit.Should().BeTrue();
        value.Should().Be(Start.AddMinutes(1));
        miss.Should().BeFalse();
        cache.Count.Should().Be(0);
    }

    [Fact]
    public void AKeyAlreadyHeldIsReplacedWhenTheCacheIsFull()
    {
        var cache = Cache(1);
        cache.Set("a", Start.AddMinutes(1), Start);

        var replaced = cache.Set("a", Start.AddHours(1), Start);

        replaced.Should().BeTrue();
        cache.TryGet("a", Start.AddMinutes(30), out _).Should().BeTrue();
        cache.Count.Should().Be(1);
    }

    [Fact]
    public void ConcurrentNewKeysFillItExactlyToItsBoundAndNeverPast()
    {
        const int capacity = 64;
        var cache = Cache(capacity);
        var largest = 0;

        Parallel.For(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            cache.Set($"k{i}", Start.AddHours(1), Start);
            var count = cache.Count;
            int seen;
            while ((seen = Volatile.Read(ref largest)) < count && Interlocked.CompareExchange(ref largest, count, seen) != seen)
            {
            }
        });

        largest.Should().BeLessThanOrEqualTo(capacity);
        cache.Count.Should().Be(capacity);
    }

    [Fact]
    public void ACacheOfSizeZeroKeepsNothing()
    {
        var cache = Cache(0);

        var kept = cache.Set("a", Start.AddHours(1), Start);

        kept.Should().BeFalse();
        cache.TryGet("a", Start, out _).Should().BeFalse();
        cache.Count.Should().Be(0);
    }

    private static bool Holds(BoundedCache<string, DateTimeOffset> cache, string key, DateTimeOffset now) => cache.TryGet(key, now, out _);

    /// <summary>Values are expiry times: an entry is live before its value.</summary>
    private static BoundedCache<string, DateTimeOffset> Cache(int capacity) => new(capacity, static (expires, now) => now < expires, Sweep);
}
