using System.Diagnostics;

namespace Shohayota.Load;

public enum Target
{
    Api,
    Baseline,
}

/// <summary>
/// A workload: each worker asks <see cref="Next"/> for its next request (worker index, sequence number).
/// <see cref="Connections"/> overrides the run's connection count for this scenario only.
/// </summary>
public sealed record Scenario(string Name, string Title, Target Target, Func<int, long, HttpRequestMessage> Next, int? Connections = null)
{
    /// <summary>False where JIT warm-up cannot matter and 1 s slices are too short to compare (sign-in).</summary>
    public bool WarmUntilSteady { get; init; } = true;

    /// <summary>
    /// Where requests differ in kind (the search terms of S3c and S3e): each kind's name and which kind a worker's request
    /// of a sequence number is, so that the run prints each kind's latencies (which one makes the tail).
    /// </summary>
    public (string[] Names, Func<int, long, int> Of)? Kinds { get; init; }
}

public sealed record DriveSettings(int Connections, TimeSpan Duration, TimeSpan Warmup);

/// <summary>
/// Closed-loop load: one worker per connection, each sending its next request when the previous answer is read,
/// for a fixed time. Latencies go into per-worker preallocated arrays of stopwatch ticks, merged afterwards.
/// </summary>
public static class LoadDriver
{
    public static async Task<ScenarioResult> MeasureAsync(Scenario scenario, DriveSettings settings, ProcessMeter meter, int serverPid)
    {
        settings = settings with { Connections = scenario.Connections ?? settings.Connections };
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.Connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var warmup = await WarmUpAsync(client, scenario, settings, serverPid);

        var before = meter.Snapshot(serverPid);
        using var stopSampling = new CancellationTokenSource();
        var peakRss = ProcessMeter.SamplePeakRssAsync(serverPid, stopSampling.Token);
        var (workers, elapsed) = await DriveAsync(client, scenario, settings.Connections, settings.Duration);
        var after = meter.Snapshot(serverPid);
        await stopSampling.CancelAsync();
        return Summarize(scenario, settings, workers, elapsed, ProcessMeter.Between(before, after), await peakRss, warmup);
    }

    /// <summary>
    /// Load in 2 s slices, each followed by 1 s of quiet, until the server's CPU per request has stopped falling (two
    /// slices in a row not 5 % below the best so far) and the configured warm-up has passed; at most 6 × the warm-up. On two saturated
    /// cores the runtime's background tier-1 JIT is starved: under continuous load a freshly started server took
    /// ~25 s to reach its steady CPU per request (0.55 → 0.13 ms for S1), and a short fixed warm-up measured the first
    /// scenario after a start at two to four times the CPU per request of a repeat. The quiet seconds let the JIT catch up.
    /// </summary>
    private static async Task<TimeSpan> WarmUpAsync(HttpClient client, Scenario scenario, DriveSettings settings, int serverPid)
    {
        var clock = Stopwatch.StartNew();
        if (!scenario.WarmUntilSteady)
        {
            await DriveAsync(client, scenario, settings.Connections, settings.Warmup);
            return clock.Elapsed;
        }

        var best = double.MaxValue;
        var slicesWithoutGain = 0;
        while (clock.Elapsed < settings.Warmup * 6)
        {
            var before = ProcessMeter.CpuMilliseconds(serverPid);
            var (workers, _) = await DriveAsync(client, scenario, settings.Connections, TimeSpan.FromSeconds(2));
            var perRequest = (ProcessMeter.CpuMilliseconds(serverPid) - before) / Math.Max(1, workers.Sum(w => w.Count));
            slicesWithoutGain = perRequest < 0.95 * best ? 0 : slicesWithoutGain + 1;
            best = Math.Min(best, perRequest);
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (slicesWithoutGain >= 2 && clock.Elapsed >= settings.Warmup)
            {
                break;
            }
        }

        return clock.Elapsed;
    }

    private static async Task<(Worker[] Workers, TimeSpan Elapsed)> DriveAsync(HttpClient client, Scenario scenario, int connections, TimeSpan duration)
    {
        // Room for ~200k req/s in total without growing; growth is an Array.Resize, never a failure.
        var capacity = (int)Math.Max(4096, duration.TotalSeconds * 200_000 / connections);
        var workers = Enumerable.Range(0, connections).Select(i => new Worker(i, capacity)).ToArray();
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(workers.Select(w => Task.Run(() => w.RunAsync(client, scenario, deadline))));
        return (workers, Stopwatch.GetElapsedTime(started));
    }

    private static ScenarioResult Summarize(
        Scenario scenario, DriveSettings settings, Worker[] workers, TimeSpan elapsed, CpuUse cpu, long peakRssKilobytes, TimeSpan warmup)
    {
        var requests = workers.Sum(w => (long)w.Count);
        var errors = workers.Sum(w => w.Errors);
        var reasons = workers.SelectMany(w => w.Reasons)
            .GroupBy(r => r.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(r => r.Value), StringComparer.Ordinal);
        var all = Latencies(workers);
        PrintTail(scenario, workers);

        double PerRequest(double milliseconds) => requests == 0 ? 0 : milliseconds / requests;
        return new ScenarioResult(
            scenario.Name, scenario.Title, scenario.Target.ToString(), settings.Connections, warmup.TotalSeconds, elapsed.TotalSeconds,
            requests, errors, requests / elapsed.TotalSeconds,
            Percentile(all, 0.50), Percentile(all, 0.99), all.Length == 0 ? 0 : Milliseconds(all[^1]),
            PerRequest(cpu.ServerMilliseconds), PerRequest(cpu.PostgresMilliseconds), PerRequest(cpu.LoadMilliseconds),
            cpu.MachineBusyPercent, cpu.OtherPercent, peakRssKilobytes / 1024.0, reasons);
    }

    /// <summary>
    /// Where the tail comes from, printed with the scenario's line: the slow requests (over 4 × the median) grouped into
    /// windows of overlapping ones (the largest three: a window whose slow requests span most workers is a stall of the
    /// server, the database or the machine, not of one kind of request) and, for scenarios with <see cref="Scenario.Kinds"/>
    /// (the search terms), each kind's p50, p99 and slowest.
    /// </summary>
    private static void PrintTail(Scenario scenario, Worker[] workers)
    {
        var all = workers.SelectMany(w => Enumerable.Range(0, w.Count).Select(i => (Start: w.Starts[i], Ticks: w.Ticks[i], Worker: w.Index))).ToArray();
        if (all.Length == 0)
        {
            return;
        }

        var first = all.Min(r => r.Start);
        var median = all.Select(r => r.Ticks).Order().ElementAt(all.Length / 2);
        var windows = new List<(long From, long To, HashSet<int> Workers, int Count)>();
        foreach (var (start, ticks, worker) in all.Where(r => r.Ticks > 4 * median).OrderBy(r => r.Start))
        {
            if (windows.Count > 0 && start <= windows[^1].To)
            {
                var (from, to, spanned, count) = windows[^1];
                spanned.Add(worker);
                windows[^1] = (from, Math.Max(to, start + ticks), spanned, count + 1);
            }
            else
            {
                windows.Add((start, start + ticks, [worker], 1));
            }
        }

        Print($"      {scenario.Name}: {windows.Sum(w => w.Count):N0} requests over 4 × the median ({Milliseconds(median):F2} ms) in {windows.Count:N0} windows of overlapping ones; the largest:");
        foreach (var (from, to, spanned, count) in windows.OrderByDescending(w => w.Count).Take(3))
        {
            Print($"        +{Milliseconds(from - first) / 1000:F2} s, {Milliseconds(to - from):F0} ms: {count} slow requests of {spanned.Count} of {workers.Length} workers");
        }

        if (scenario.Kinds is not { } kinds)
        {
            return;
        }

        for (var kind = 0; kind < kinds.Names.Length; kind++)
        {
            var sorted = workers.SelectMany(w => Enumerable.Range(0, w.Count).Where(i => kinds.Of(w.Index, i) == kind).Select(i => w.Ticks[i])).Order().ToArray();
            Print($"      {scenario.Name} “{kinds.Names[kind]}”: {sorted.Length:N0} requests, p50 {Percentile(sorted, 0.5):F2} ms, p99 {Percentile(sorted, 0.99):F2} ms, slowest {(sorted.Length == 0 ? 0 : Milliseconds(sorted[^1])):F1} ms");
        }

        static void Print(FormattableString line) => Console.WriteLine(line.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static long[] Latencies(Worker[] workers)
    {
        var merged = new long[workers.Sum(w => w.Count)];
        var at = 0;
        foreach (var worker in workers)
        {
            Array.Copy(worker.Ticks, 0, merged, at, worker.Count);
            at += worker.Count;
        }

        Array.Sort(merged);
        return merged;
    }

    // Nearest rank: the smallest latency at or above which the given share of requests lies.
    private static double Percentile(long[] sorted, double share) =>
        sorted.Length == 0 ? 0 : Milliseconds(sorted[Math.Max(0, (int)Math.Ceiling(share * sorted.Length) - 1)]);

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private sealed class Worker(int index, int capacity)
    {
        public int Index => index;

        public long[] Ticks { get; private set; } = new long[capacity];

        public long[] Starts { get; private set; } = new long[capacity];

        public int Count { get; private set; }

        public long Errors { get; private set; }

        public Dictionary<string, long> Reasons { get; } = new(StringComparer.Ordinal);

        public async Task RunAsync(HttpClient client, Scenario scenario, long deadline)
        {
            for (long sequence = 0; Stopwatch.GetTimestamp() < deadline; sequence++)
            {
                var message = scenario.Next(index, sequence);
                var started = Stopwatch.GetTimestamp();
                string? error = null;
                try
                {
                    using var response = await client.SendAsync(message);
                    if (!response.IsSuccessStatusCode)
                    {
                        error = $"HTTP {(int)response.StatusCode}";
                    }
                }
                catch (HttpRequestException e)
                {
                    error = e.HttpRequestError.ToString();
                }
                catch (TaskCanceledException)
                {
                    error = "timeout";
                }
                finally
                {
                    message.Dispose();
                }

                Record(started, Stopwatch.GetTimestamp() - started, error);
            }
        }

        private void Record(long started, long ticks, string? error)
        {
            if (Count == Ticks.Length)
            {
                var grown = Ticks;
                Array.Resize(ref grown, Count * 2);
                Ticks = grown;
                var starts = Starts;
                Array.Resize(ref starts, Count * 2);
                Starts = starts;
            }

            Starts[Count] = started;
            Ticks[Count++] = ticks;
            if (error is not null)
            {
                Errors++;
                Reasons[error] = Reasons.GetValueOrDefault(error) + 1;
            }
        }
    }
}

public sealed record ScenarioResult(
    string Name, string Title, string Server, int Connections, double WarmupSeconds, double Seconds,
    long Requests, long Errors, double RequestsPerSecond, double P50Ms, double P99Ms, double MaxMs,
    double ServerCpuMsPerRequest, double PostgresCpuMsPerRequest, double LoadCpuMsPerRequest,
    double MachineBusyPercent, double OtherCpuPercent, double ServerPeakRssMb,
    IReadOnlyDictionary<string, long> ErrorReasons);
