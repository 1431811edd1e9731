using Shohayota.Grains.Quotas;

namespace Shohayota.Grains.Tests.Quotas;

public sealed class TrafficWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AnIdleWindowCostsNoHistograms()
    {
        // Bench S10: every active tenant has one; 60 preallocated minute histograms were ~67 KB of its ~126 KB.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var window = new TrafficWindow();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().BeLessThan(4 * 1024);
        window.Sum(Start, 60).Requests.Should().Be(0);
    }

    [Fact]
    public void SumsTheMinutesOfItsWindowAndForgetsOlderOnes()
    {
        var window = new TrafficWindow();
        var latency = new long[LatencyHistogram.Buckets];
        latency[LatencyHistogram.BucketOf(12)] = 3;
        window.Add(Start, 3, 1, 0, latency);
        window.AddOne(Start.AddMinutes(2), 503, 40);
        window.Add(Start.AddMinutes(3), 5, 0, 0, []);

        var five = window.Sum(Start.AddMinutes(3), 5);
        five.Should().Match<(long Requests, long ClientErrors, long ServerErrors, long[] Latency)>(s => s.Requests == 9 && s.ClientErrors == 1 && s.ServerErrors == 1);
        five.Latency.Sum().Should().Be(4);
        LatencyHistogram.Quantile(five.Latency, 0.5).Should().BeApproximately(12, 2);

        window.Sum(Start.AddMinutes(3), 2).Requests.Should().Be(6, "the last two minutes hold the 503 and the 5");
        // An hour later the same slots are reused: the old minutes' counts and histograms are gone.
        window.AddOne(Start.AddMinutes(60), 200, 1);
        var later = window.Sum(Start.AddMinutes(60), 60);
        later.Requests.Should().Be(7, "minute 0's 3 requests were replaced; minutes 2 and 3 are still within the hour");
        later.Latency.Sum().Should().Be(2);
    }
}
