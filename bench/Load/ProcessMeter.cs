using System.Diagnostics;
using System.Globalization;

namespace Shohayota.Load;

/// <summary>
/// CPU and memory from /proc: the measured server process, PostgreSQL (the postmaster and its children), this
/// load generator, and the whole machine, so a report can say where the CPU went and how noisy the machine was.
/// </summary>
public sealed class ProcessMeter(int postmasterPid)
{
    private static readonly Lazy<double> MillisecondsPerTick = new(() => 1000.0 / ClockTicksPerSecond());

    public CpuSnapshot Snapshot(int serverPid) => new(
        ProcessTicks(serverPid),
        PostgresTicks(),
        Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds,
        MachineTicks());

    public static CpuUse Between(CpuSnapshot before, CpuSnapshot after)
    {
        var postgres = after.Postgres.Sum(p => p.Value - before.Postgres.GetValueOrDefault(p.Key));
        var busy = after.Machine.Busy - before.Machine.Busy;
        var total = after.Machine.Total - before.Machine.Total;
        var server = after.Server - before.Server;
        var load = after.LoadMilliseconds - before.LoadMilliseconds;
        var other = busy * MillisecondsPerTick.Value - (server + postgres) * MillisecondsPerTick.Value - load;
        var machineMilliseconds = total * MillisecondsPerTick.Value;
        return new CpuUse(
            server * MillisecondsPerTick.Value,
            postgres * MillisecondsPerTick.Value,
            load,
            Math.Max(0, other),
            total == 0 ? 0 : 100.0 * busy / total,
            machineMilliseconds <= 0 ? 0 : 100.0 * Math.Max(0, other) / machineMilliseconds);
    }

    /// <summary>The share of the machine's CPU that processes other than ours used over the next second.</summary>
    public async Task<double> OtherPercentAsync(int serverPid)
    {
        var before = Snapshot(serverPid);
        await Task.Delay(TimeSpan.FromSeconds(1));
        return Between(before, Snapshot(serverPid)).OtherPercent;
    }

    /// <summary>CPU milliseconds the process has used so far.</summary>
    public static double CpuMilliseconds(int pid) => ProcessTicks(pid) * MillisecondsPerTick.Value;

    public static long RssKilobytes(int pid) => StatusField(pid, "VmRSS:");

    public static long PeakRssKilobytes(int pid) => StatusField(pid, "VmHWM:");

    /// <summary>Samples VmRSS every <paramref name="milliseconds"/> until cancelled; returns the highest value seen (kB).</summary>
    public static async Task<long> SamplePeakRssAsync(int pid, CancellationToken stop, int milliseconds = 100)
    {
        var peak = RssKilobytes(pid);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(milliseconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                peak = Math.Max(peak, RssKilobytes(pid));
            }
        }
        catch (OperationCanceledException)
        {
        }

        return Math.Max(peak, RssKilobytes(pid));
    }

    private Dictionary<int, long> PostgresTicks()
    {
        var ticks = new Dictionary<int, long>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            // A backend may exit between the listing and the read; it simply drops out.
            if (TryReadStat(pid, out var parent, out var cpu) && (pid == postmasterPid || parent == postmasterPid))
            {
                ticks[pid] = cpu;
            }
        }

        return ticks;
    }

    private static long ProcessTicks(int pid) =>
        TryReadStat(pid, out _, out var cpu) ? cpu : throw new InvalidOperationException($"Process {pid} is gone.");

    private static bool TryReadStat(int pid, out int parent, out long cpu)
    {
        parent = 0;
        cpu = 0;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
        cpu = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return true;
    }

    private static (long Busy, long Total) MachineTicks()
    {
        // cpu  user nice system idle iowait irq softirq steal …
        var values = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..9]
            .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var idle = values[3] + values[4];
        var total = values.Sum();
        return (total - idle, total);
    }

    private static long StatusField(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static int ClockTicksPerSecond()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true });
            var text = getconf!.StandardOutput.ReadToEnd().Trim();
            getconf.WaitForExit();
            return int.Parse(text, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException)
        {
            return 100;
        }
    }
}

public sealed record CpuSnapshot(long Server, Dictionary<int, long> Postgres, double LoadMilliseconds, (long Busy, long Total) Machine);

/// <summary>CPU milliseconds spent during a measurement, by part; percentages are of the whole machine.</summary>
public sealed record CpuUse(
    double ServerMilliseconds, double PostgresMilliseconds, double LoadMilliseconds, double OtherMilliseconds,
    double MachineBusyPercent, double OtherPercent);
