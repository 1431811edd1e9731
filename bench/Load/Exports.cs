using System.Diagnostics;

namespace Shohayota.Load;

/// <summary>
/// S4: the big tenant's admin downloads the tenant export (<c>GET /api/tenants/export</c>), one at a time: one
/// unmeasured run, then three measured. Rows/s counts the tenant's customers; memory growth is the server's peak RSS
/// during an export over its RSS just before it.
/// </summary>
public static class Exports
{
    private const int Runs = 3;

    public static async Task<ExportResult> MeasureAsync(Uri api, string token, int customers, ProcessMeter meter, int serverPid)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var uri = new Uri(api, "api/tenants/export");
        await DownloadAsync(client, uri, token);

        var seconds = new List<double>();
        var growth = 0L;
        var bytes = 0L;
        var errors = 0;
        var before = meter.Snapshot(serverPid);
        for (var run = 0; run < Runs; run++)
        {
            var rssBefore = ProcessMeter.RssKilobytes(serverPid);
            using var stopSampling = new CancellationTokenSource();
            var peak = ProcessMeter.SamplePeakRssAsync(serverPid, stopSampling.Token, milliseconds: 10);
            var clock = Stopwatch.StartNew();
            var (ok, length) = await DownloadAsync(client, uri, token);
            seconds.Add(clock.Elapsed.TotalSeconds);
            await stopSampling.CancelAsync();
            growth = Math.Max(growth, await peak - rssBefore);
            bytes = length;
            errors += ok ? 0 : 1;
        }

        var cpu = ProcessMeter.Between(before, meter.Snapshot(serverPid));
        seconds.Sort();
        var median = seconds[Runs / 2];
        return new ExportResult(Runs, customers, bytes, median, customers / median, growth / 1024.0,
            cpu.ServerMilliseconds / Runs, cpu.PostgresMilliseconds / Runs, cpu.OtherPercent, errors);
    }

    private static async Task<(bool Ok, long Bytes)> DownloadAsync(HttpClient client, Uri uri, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        return (response.IsSuccessStatusCode, total);
    }
}

public sealed record ExportResult(
    int Runs, int Customers, long Bytes, double MedianSeconds, double RowsPerSecond, double PeakGrowthMb,
    double ServerCpuMsPerExport, double PostgresCpuMsPerExport, double OtherCpuPercent, int Errors);
