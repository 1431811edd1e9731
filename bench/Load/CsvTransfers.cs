using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Shohayota.Load;

/// <summary>
/// S12 (issue 14), modelled on S4: CSV in and out, one at a time, one unmeasured run, then three measured; the median.
/// S12a: <c>POST /api/imports/customers</c> of a generated file of <see cref="ImportRows"/> customers (new e-mail addresses
/// in every file) into a tenant of its own, one audited transaction with one audit entry per record; each measured file
/// is first sent as a dry run (<c>?dryRun=true</c>, timed apart). S12b: <c>GET /api/contacts</c> with
/// <c>Accept: text/csv</c> of the big tenant's contacts, downloaded and its lines counted. Memory growth is the server's
/// peak RSS (sampled every 10 ms) during a run over its RSS just before it, worst of the runs.
/// </summary>
public static class CsvTransfers
{
    public const int ImportRows = 10_000;

    private const int Runs = 3;

    private static readonly string[] Statuses = ["lead", "prospect", "customer", "churned"];

    /// <summary>
    /// S12a. The import tenant is provisioned here through the API on <paramref name="plan"/> (the bench's own tenants keep
    /// their data: the big tenant's customers are what S3, S4 and S10 count), and gets 4 × <paramref name="rows"/> customers.
    /// </summary>
    public static async Task<CsvImportResult> MeasureImportAsync(
        ApiClient api, Uri baseUri, string superToken, string plan, ProcessMeter meter, int serverPid, int rows = ImportRows)
    {
        var nonce = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 3));
        var slug = $"import-{nonce}";
        var name = $"Bench Import Tenant {nonce}";
        var (tenantId, adminEmail) = await Seeder.ProvisionAsync(api, superToken, name, slug, plan);
        var token = await api.LoginAsync(adminEmail, Seeder.AdminPassword);
        Console.WriteLine($"  S12a: provisioned {name} ({tenantId:D}) on plan {plan}");

        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var uri = new Uri(baseUri, "api/imports/customers");
        var dryUri = new Uri(baseUri, "api/imports/customers?dryRun=true");
        var warmFile = CustomersCsv(nonce, 0, rows);
        await ImportAsync(client, dryUri, token, warmFile, rows, dryRun: true);
        var warm = await ImportAsync(client, uri, token, warmFile, rows, dryRun: false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  S12a: warm-up import {warm.Seconds:F2} s{(warm.Error is null ? "" : $" — {warm.Error}")}"));

        var seconds = new List<double>();
        var drySeconds = new List<double>();
        double serverMs = 0, postgresMs = 0, otherWeighted = 0;
        var growth = 0L;
        var bytes = 0L;
        var errors = 0;
        string? firstError = warm.Error;
        for (var run = 1; run <= Runs; run++)
        {
            var file = CustomersCsv(nonce, run, rows);
            bytes = file.Length;
            var dry = await ImportAsync(client, dryUri, token, file, rows, dryRun: true);
            drySeconds.Add(dry.Seconds);
            firstError ??= dry.Error;

            var rssBefore = ProcessMeter.RssKilobytes(serverPid);
            using var stopSampling = new CancellationTokenSource();
            var peak = ProcessMeter.SamplePeakRssAsync(serverPid, stopSampling.Token, milliseconds: 10);
            var before = meter.Snapshot(serverPid);
            var real = await ImportAsync(client, uri, token, file, rows, dryRun: false);
            var cpu = ProcessMeter.Between(before, meter.Snapshot(serverPid));
            await stopSampling.CancelAsync();
            growth = Math.Max(growth, await peak - rssBefore);
            seconds.Add(real.Seconds);
            serverMs += cpu.ServerMilliseconds;
            postgresMs += cpu.PostgresMilliseconds;
            otherWeighted += cpu.OtherPercent * real.Seconds;
            errors += real.Error is null ? 0 : 1;
            firstError ??= real.Error;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  S12a: run {run}: dry run {dry.Seconds:F2} s, import {real.Seconds:F2} s (server CPU {cpu.ServerMilliseconds / 1000:F2} s, PostgreSQL CPU {cpu.PostgresMilliseconds / 1000:F2} s, other {cpu.OtherPercent:F0} %){(real.Error is null ? "" : $" — {real.Error}")}"));
        }

        var median = Median(seconds);
        return new CsvImportResult(Runs, rows, bytes, median, rows / median, Median(drySeconds), [.. seconds], serverMs / Runs, postgresMs / Runs,
            growth / 1024.0, otherWeighted / Math.Max(seconds.Sum(), 0.001), errors, firstError, name);
    }

    /// <summary>S12b: <paramref name="contacts"/> is what the big tenant holds; every run must count exactly that many rows.</summary>
    public static async Task<CsvExportResult> MeasureExportAsync(Uri api, string token, int contacts, ProcessMeter meter, int serverPid)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var uri = new Uri(api, "api/contacts");
        var warm = await DownloadAsync(client, uri, token);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  S12b: warm-up export {warm.Seconds:F2} s, {warm.Rows:N0} rows{(warm.Error is null ? "" : $" — {warm.Error}")}"));

        var seconds = new List<double>();
        var growth = 0L;
        var bytes = 0L;
        var rows = 0L;
        var errors = 0;
        string? firstError = null;
        var before = meter.Snapshot(serverPid);
        for (var run = 0; run < Runs; run++)
        {
            var rssBefore = ProcessMeter.RssKilobytes(serverPid);
            using var stopSampling = new CancellationTokenSource();
            var peak = ProcessMeter.SamplePeakRssAsync(serverPid, stopSampling.Token, milliseconds: 10);
            var download = await DownloadAsync(client, uri, token);
            await stopSampling.CancelAsync();
            growth = Math.Max(growth, await peak - rssBefore);
            seconds.Add(download.Seconds);
            bytes = download.Bytes;
            rows = download.Rows;
            var error = download.Error ?? (download.Rows == contacts ? null : $"{download.Rows:N0} rows instead of {contacts:N0}");
            errors += error is null ? 0 : 1;
            firstError ??= error;
        }

        var cpu = ProcessMeter.Between(before, meter.Snapshot(serverPid));
        var median = Median(seconds);
        return new CsvExportResult(Runs, contacts, rows, bytes, median, rows / median, [.. seconds], growth / 1024.0,
            cpu.ServerMilliseconds / Runs, cpu.PostgresMilliseconds / Runs, cpu.OtherPercent, errors, firstError);
    }

    /// <summary>
    /// A customers file as a spreadsheet would save it (CRLF, a header row, RFC 4180 quoting where a cell has a comma),
    /// about 135 bytes a row; every e-mail address is new (<paramref name="nonce"/> of the run, <paramref name="file"/>, row).
    /// </summary>
    public static byte[] CustomersCsv(string nonce, int file, int rows)
    {
        var text = new StringBuilder(rows * 130);
        text.Append("name,email,phone,company,status,tags,notes\r\n");
        var firstNames = Seeder.FirstNames;
        var lastNames = Seeder.LastNames;
        var companies = Seeder.Companies;
        for (var i = 1; i <= rows; i++)
        {
            var first = firstNames[i % firstNames.Length];
            var last = lastNames[i / firstNames.Length % lastNames.Length];
            var company = companies[i % companies.Length];
            var companyCell = i % 10 == 0 ? $"\"{company} Holdings, Inc.\"" : $"{company} {i % 997}";
            var tags = i % 4 == 0 ? $"import;region-{i % 7};vip" : $"import;region-{i % 7}";
            var notes = (i % 3) switch
            {
                0 => $"Met at the {i % 12 + 1}th trade fair; follow up in spring.",
                1 => "",
                _ => $"\"Asked for a quote, {i % 50 + 1} seats\"",
            };
            text.Append(CultureInfo.InvariantCulture,
                $"{first} {last},{first.ToLowerInvariant()}.{i}.f{file}.{nonce}@{company.ToLowerInvariant()}-import.example.com,+1-555-{i % 10_000:D4},{companyCell},{Statuses[i % Statuses.Length]},{tags},{notes}\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private sealed record Transfer(double Seconds, long Bytes, long Rows, string? Error);

    private static async Task<Transfer> ImportAsync(HttpClient client, Uri uri, string token, byte[] file, int rows, bool dryRun)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(file) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        var expected = dryRun ? HttpStatusCode.OK : HttpStatusCode.Created;
        if (response.StatusCode != expected)
        {
            return new Transfer(seconds, file.Length, 0, $"{(dryRun ? "dry run" : "import")} answered {(int)response.StatusCode}: {Shorten(body)}");
        }

        using var json = JsonDocument.Parse(body);
        var created = json.RootElement.GetProperty("created").GetInt32();
        var errorCount = json.RootElement.GetProperty("errorCount").GetInt32();
        return created == rows && errorCount == 0
            ? new Transfer(seconds, file.Length, created, null)
            : new Transfer(seconds, file.Length, created, $"{(dryRun ? "dry run" : "import")}: {created:N0} created, {errorCount:N0} errors: {Shorten(body)}");
    }

    /// <summary>One CSV export; a 429 (the heavy route still held by the previous one) is retried, the clock restarted.</summary>
    private static async Task<Transfer> DownloadAsync(HttpClient client, Uri uri, string token)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            request.Headers.TryAddWithoutValidation("Accept", "text/csv");
            var clock = Stopwatch.StartNew();
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && attempt < 10)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
                continue;
            }

            if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != "text/csv")
            {
                return new Transfer(clock.Elapsed.TotalSeconds, 0, 0,
                    $"export answered {(int)response.StatusCode} ({response.Content.Headers.ContentType}): {Shorten(await response.Content.ReadAsStringAsync())}");
            }

            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[81920];
            long total = 0, lines = 0;
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                total += read;
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
            }

            // One line per row (the seeded contacts have no line break inside a cell) after the header row.
            return new Transfer(clock.Elapsed.TotalSeconds, total, Math.Max(0, lines - 1), null);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}

/// <summary>S12a's figures: seconds per import (median of <see cref="Runs"/>), CPU per import, the dry run of the same files.</summary>
public sealed record CsvImportResult(
    int Runs, int Rows, long Bytes, double MedianSeconds, double RowsPerSecond, double DryRunMedianSeconds, IReadOnlyList<double> Seconds,
    double ServerCpuMsPerImport, double PostgresCpuMsPerImport, double PeakGrowthMb, double OtherCpuPercent, int Errors, string? FirstError,
    string Tenant);

/// <summary>S12b's figures: rows/s of the median export, rows and bytes of one, CPU per export.</summary>
public sealed record CsvExportResult(
    int Runs, int Contacts, long Rows, long Bytes, double MedianSeconds, double RowsPerSecond, IReadOnlyList<double> Seconds, double PeakGrowthMb,
    double ServerCpuMsPerExport, double PostgresCpuMsPerExport, double OtherCpuPercent, int Errors, string? FirstError);
