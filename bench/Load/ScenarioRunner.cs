using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

namespace Shohayota.Load;

/// <summary>
/// One phase of a run: signs the tenant admins in, creates S1k's API key, prepares S3's cursors, measures the named
/// scenarios in order; before the first S11 page (or S12b) it seeds the big tenant's contacts (S11 also walks their cursors),
/// before the first S13 scenario its deals (and the contacts, if not yet there) and walks their cursors.
/// </summary>
public static class ScenarioRunner
{
    public static async Task RunAsync(CommandLine options)
    {
        var state = BenchState.Load(options.Get("state"));
        var api = new Uri(options.Get("api"));
        var baseline = options.Find("baseline") is { } b ? new Uri(b) : null;
        var serverPid = options.GetInt("server-pid");
        var baselinePid = options.GetInt("baseline-pid", 0);
        var meter = new ProcessMeter(BenchDatabase.PostmasterPid(options.Get("pg-dir")));
        var settings = new DriveSettings(
            options.GetInt("connections"),
            TimeSpan.FromSeconds(options.GetInt("duration")),
            TimeSpan.FromSeconds(options.GetInt("warmup")));
        var names = options.Get("scenarios").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromMinutes(2) };
        var client = new ApiClient(http);
        var tokens = new ConcurrentDictionary<Guid, string>();
        if (names.Any(ScenarioCatalog.NeedsTokens))
        {
            await Parallel.ForEachAsync(state.AllTenants, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (tenant, _) =>
                tokens[tenant.Id] = await client.LoginAsync(tenant.AdminEmail, tenant.AdminPassword));
        }

        // S1k's key: the first tenant's, created with its admin's JWT (only a person may manage keys) and given the admin's
        // role, so that S1k differs from S1 in the credential alone.
        // S1r's: the same with its own rate limit, the highest a key may carry (never reached: what the key's bucket costs).
        var apiKeys = new Dictionary<Guid, string>();
        var limitedKeys = new Dictionary<Guid, string>();
        foreach (var (scenario, keys, limit) in new[] { ("S1k", apiKeys, (int?)null), ("S1r", limitedKeys, 1_000_000) })
        {
            if (names.Contains(scenario))
            {
                var tenant = state.Tenants[0];
                var key = await client.PostAsync("/api/api-keys", tokens[tenant.Id], new { name = "bench " + scenario, role = "tenant_admin", rateLimitPerMinute = limit });
                keys[tenant.Id] = key.GetProperty("secret").GetString()!;
                Console.WriteLine($"  {scenario}: created API key {key.GetProperty("prefix").GetString()}… for {tenant.Name}");
            }
        }

        var families = names.Select(ScenarioCatalog.Family).ToHashSet(StringComparer.Ordinal);
        PagePlan? pages = null;
        if (families.Contains("S3") || families.Contains("B4"))
        {
            pages = await PreparePagesAsync(client, tokens[state.BigTenant.Id], state.BigTenant.Customers);
            Console.WriteLine($"  S3: walked {pages.DeepCursors.Count * 2:N0} cursors of the big tenant; using the deeper half");
        }

        // The main phase (the one run.sh gives the port): right after the seed.
        if (options.Find("pg-port") is not null)
        {
            var checkpointSeconds = await BenchDatabase.CheckpointAsync(options.Get("pg-dir"), options.GetInt("pg-port"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  CHECKPOINT before the first scenario: {checkpointSeconds:F1} s"));
        }

        var quietBudget = TimeSpan.FromSeconds(options.GetInt("quiet-wait", 0));
        var catalog = new ScenarioCatalog(state, api, baseline, tokens, apiKeys, limitedKeys, pages, options.GetInt("signin-connections", 8));
        var results = new List<ScenarioResult>();
        ExportResult? export = null;
        FloodResult? flood = null;
        ContactSeed? contacts = null;
        DealSeed? deals = null;
        CsvImportResult? csvImport = null;
        CsvExportResult? csvExport = null;

        // Seeded here, not by the seed step, before the first scenario that reads them (S11, or S12b without S11): the
        // scenarios before it (S4's export of this tenant above all) see the tenant without contacts, as in runs before S11 existed.
        async Task<ContactSeed> SeedContactsAsync(string scenario)
        {
            if (contacts is not null)
            {
                return contacts;
            }

            contacts = await Seeder.SeedContactsAsync(options.Get("pg-dir"), options.GetInt("pg-port"), state.BigTenant, "big",
                options.GetInt("contacts", state.BigTenant.Customers));
            Console.WriteLine(contacts.Existing
                ? $"  {scenario}: the big tenant already has {contacts.Rows:N0} contacts"
                : string.Create(CultureInfo.InvariantCulture,
                    $"  {scenario}: bulk-inserted {contacts.Rows:N0} contacts of the big tenant in {contacts.InsertSeconds:F1} s, VACUUM (ANALYZE) contacts {contacts.AnalyzeSeconds:F1} s"));
            return contacts;
        }

        foreach (var name in names)
        {
            if (ScenarioCatalog.Family(name) == "S12")
            {
                if (name is not ("S12" or "S12a" or "S12b"))
                {
                    throw new ArgumentException($"Unknown scenario {name}; S12 has S12a (CSV import) and S12b (CSV export).");
                }

                if (name != "S12b")
                {
                    quietBudget -= await WaitForQuietAsync(meter, serverPid, quietBudget);
                    var superToken = await client.LoginAsync(state.SuperAdminEmail, state.SuperAdminPassword);
                    csvImport = await CsvTransfers.MeasureImportAsync(client, api, superToken, ImportPlan(state.Plan), meter, serverPid);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  S12a: {csvImport.RowsPerSecond,9:N0} rows/s  median {csvImport.MedianSeconds:F2} s per import of {csvImport.Rows:N0} customers ({csvImport.Bytes / 1048576.0:N1} MB), dry run {csvImport.DryRunMedianSeconds:F2} s  " +
                        $"CPU per import server {csvImport.ServerCpuMsPerImport / 1000:F2} s, postgres {csvImport.PostgresCpuMsPerImport / 1000:F2} s  peak RSS growth {csvImport.PeakGrowthMb:F1} MB  other {csvImport.OtherCpuPercent:F0} %  errors {csvImport.Errors}"));
                }

                if (name != "S12a")
                {
                    var seeded = await SeedContactsAsync("S12b");
                    quietBudget -= await WaitForQuietAsync(meter, serverPid, quietBudget);
                    csvExport = await CsvTransfers.MeasureExportAsync(api, tokens[state.BigTenant.Id], seeded.Rows, meter, serverPid);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  S12b: {csvExport.RowsPerSecond,9:N0} rows/s  median {csvExport.MedianSeconds:F2} s for {csvExport.Rows:N0} contacts ({csvExport.Bytes / 1048576.0:N1} MB)  " +
                        $"CPU per export server {csvExport.ServerCpuMsPerExport / 1000:F2} s, postgres {csvExport.PostgresCpuMsPerExport / 1000:F2} s  peak RSS growth {csvExport.PeakGrowthMb:F1} MB  other {csvExport.OtherCpuPercent:F0} %  errors {csvExport.Errors}"));
                }

                if ((csvImport?.FirstError ?? csvExport?.FirstError) is { } problem)
                {
                    Console.WriteLine($"      first error: {problem}");
                }

                continue;
            }

            if (ScenarioCatalog.Family(name) == "S11" && pages?.Contacts is null)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await SeedContactsAsync("S11");
                var contactCursors = await WalkCursorsAsync(client, tokens[state.BigTenant.Id], "/api/contacts");
                Console.WriteLine($"  S11: walked {contactCursors.Count:N0} contact cursors of the big tenant in {clock.Elapsed.TotalSeconds:F1} s in all; using the deeper half");
                pages = (pages ?? new PagePlan([], [])) with
                {
                    Contacts = new ContactPlan(contacts!.Rows, contactCursors.Skip(contactCursors.Count / 2).ToList()),
                };
                catalog = new ScenarioCatalog(state, api, baseline, tokens, apiKeys, limitedKeys, pages, options.GetInt("signin-connections", 8));
            }

            if (ScenarioCatalog.Family(name) == "S13" && pages?.Deals is null)
            {
                // Issue 14's tenant has 100,000 contacts and 20,000 deals: the contacts first (some deals link them), then
                // its pipeline's stages and the deals.
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await SeedContactsAsync("S13");
                var token = tokens[state.BigTenant.Id];
                deals = await Seeder.SeedDealsAsync(options.Get("pg-dir"), options.GetInt("pg-port"), state.BigTenant,
                    options.GetInt("deals", Math.Max(1, state.BigTenant.Customers / 5)));
                Console.WriteLine(deals.Existing
                    ? $"  S13: the big tenant already has {deals.Rows:N0} deals"
                    : string.Create(CultureInfo.InvariantCulture,
                        $"  S13: bulk-inserted {deals.Rows:N0} deals ({deals.ContactLinks:N0} contact links) of the big tenant over {deals.Stages} stages in {deals.InsertSeconds:F1} s, VACUUM (ANALYZE) {deals.AnalyzeSeconds:F1} s"));

                // S13c must measure the totals of every seeded deal: a pipeline that counts fewer (a cache filled before the
                // seeding, say) would make it measure something else.
                var pipeline = await client.GetAsync("/api/pipeline", token);
                var counted = pipeline.GetProperty("stages").EnumerateArray().Sum(s => s.GetProperty("count").GetInt32());
                if (counted != deals.Rows)
                {
                    throw new InvalidOperationException($"GET /api/pipeline counts {counted:N0} deals for the big tenant, not the {deals.Rows:N0} in the table.");
                }

                var dealCursors = await WalkCursorsAsync(client, token, "/api/deals");
                Console.WriteLine($"  S13: walked {dealCursors.Count:N0} deal cursors of the big tenant in {clock.Elapsed.TotalSeconds:F1} s in all; using the deeper half");
                pages = (pages ?? new PagePlan([], [])) with
                {
                    Deals = new DealPlan(deals.Rows, dealCursors.Skip(dealCursors.Count / 2).ToList()),
                };
                catalog = new ScenarioCatalog(state, api, baseline, tokens, apiKeys, limitedKeys, pages, options.GetInt("signin-connections", 8));
            }

            if (name == "S9")
            {
                quietBudget -= await WaitForQuietAsync(meter, serverPid, quietBudget);
                flood = await Flood.MeasureAsync(state, api, tokens, settings, meter, serverPid,
                    options.GetInt("flood-connections", 32), options.GetInt("flood-addresses", 1));
                results.Add(flood.Alone);
                results.Add(flood.UnderFlood);
                continue;
            }

            if (name == "S4")
            {
                quietBudget -= await WaitForQuietAsync(meter, serverPid, quietBudget);
                export = await Exports.MeasureAsync(api, tokens[state.BigTenant.Id], state.BigTenant.Customers + state.BigTenant.HotIds.Count, meter, serverPid);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  S4 : {export.RowsPerSecond,9:N0} customers/s  median {export.MedianSeconds:F2} s for {export.Customers:N0} customers ({export.Bytes / 1048576.0:N1} MB)  " +
                    $"peak RSS growth {export.PeakGrowthMb:F1} MB  errors {export.Errors}"));
                continue;
            }

            // S5: the same process as its baseline S5e, enforcement switched off around it (benchmark-only route).
            string? switchToken = null;
            if (name == "S5")
            {
                switchToken = await client.LoginAsync(state.SuperAdminEmail, state.SuperAdminPassword);
                await client.PutAsync("/api/admin/benchmark/admission", switchToken, new { enforce = false });
            }

            await MeasureAsync(name);
            if (switchToken is not null)
            {
                // After S5 only: a failed S5 ends the run anyway, with its own error.
                await client.PutAsync("/api/admin/benchmark/admission", switchToken, new { enforce = true });
            }
        }

        async Task MeasureAsync(string name)
        {
            foreach (var scenario in catalog.Create(name))
            {
                var pid = scenario.Target == Target.Baseline
                    ? (baselinePid > 0 ? baselinePid : throw new ArgumentException("--baseline-pid is required for the B scenarios."))
                    : serverPid;
                quietBudget -= await WaitForQuietAsync(meter, pid, quietBudget);
                var result = await LoadDriver.MeasureAsync(scenario, settings, meter, pid);
                results.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {scenario.Name,-3}: {result.RequestsPerSecond,9:N0} req/s  p50 {result.P50Ms,7:F2} ms  p99 {result.P99Ms,7:F2} ms  errors {result.Errors}  " +
                    $"CPU/req server {result.ServerCpuMsPerRequest:F3} ms, postgres {result.PostgresCpuMsPerRequest:F3} ms, load {result.LoadCpuMsPerRequest:F3} ms  " +
                    $"other {result.OtherCpuPercent:F0} %  (warm-up {result.WarmupSeconds:F0} s)"));
                foreach (var (reason, count) in result.ErrorReasons)
                {
                    Console.WriteLine($"      {count} × {reason}");
                }
            }
        }

        var phase = new PhaseResults(options.Get("phase"), options.Find("server-args") ?? "", settings.Connections,
            settings.Duration.TotalSeconds, settings.Warmup.TotalSeconds, results, names.Contains("S6") ? Pbkdf2Milliseconds() : null, export, flood,
            contacts, csvImport, csvExport, deals);
        await File.WriteAllTextAsync(options.Get("out"), JsonSerializer.Serialize(phase, BenchState.Json));
    }

    /// <summary>S12a's import tenant: on the run's plan when its quotas are the bench's (or enterprise's), else on enterprise (5,000,000 customers).</summary>
    private static string ImportPlan(string plan) => plan is "bench" or "enterprise" ? plan : "enterprise";

    /// <summary>S6's ceiling: CPU time of one PBKDF2-HMAC-SHA512 at the Api's 210,000 iterations, best of three.</summary>
    private static double Pbkdf2Milliseconds()
    {
        var best = double.MaxValue;
        var salt = new byte[16];
        for (var i = 0; i < 3; i++)
        {
            var before = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2("Bench-Admin-Password-1"u8, salt, 210_000,
                System.Security.Cryptography.HashAlgorithmName.SHA512, 32);
            best = Math.Min(best, (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds);
        }

        return best;
    }

    /// <summary>The machine is shared: wait (within the run's budget) until other processes leave it mostly idle.</summary>
    private static async Task<TimeSpan> WaitForQuietAsync(ProcessMeter meter, int pid, TimeSpan budget)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < budget)
        {
            var other = await meter.OtherPercentAsync(pid);
            if (other <= 15)
            {
                break;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    other processes use {other:F0} % of the CPU; waiting for a quieter machine ({(budget - clock.Elapsed).TotalSeconds:F0} s of waiting left)"));
            await Task.Delay(TimeSpan.FromSeconds(4));
        }

        return clock.Elapsed;
    }

    private static async Task<PagePlan> PreparePagesAsync(ApiClient client, string token, int customers)
    {
        var cursors = await WalkCursorsAsync(client, token, "/api/customers");
        return new PagePlan(cursors.Skip(cursors.Count / 2).ToList(), ScenarioCatalog.SearchTerms(customers));
    }

    /// <summary>Every keyset cursor of a list route (newest first), in order.</summary>
    private static async Task<List<string>> WalkCursorsAsync(ApiClient client, string token, string route)
    {
        // Cursors come from the API itself (pageSize 200 walks the tenant in few requests); a cursor carries the sort
        // key and id only, so it continues a 50-row page, and a status-filtered page, from the same place.
        var cursors = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.GetAsync(route + "?pageSize=200" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), token);
            cursor = page.GetProperty("nextCursor").GetString();
            if (cursor is not null)
            {
                cursors.Add(cursor);
            }
        }
        while (cursor is not null);

        return cursors;
    }
}

public sealed record PhaseResults(
    string Phase, string ServerArguments, int Connections, double DurationSeconds, double WarmupSeconds, IReadOnlyList<ScenarioResult> Scenarios,
    double? Pbkdf2Milliseconds,
    ExportResult? Export,
    FloodResult? Flood = null,
    ContactSeed? Contacts = null,
    CsvImportResult? CsvImport = null,
    CsvExportResult? CsvExport = null,
    DealSeed? Deals = null);
