using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Shohayota.Load;

/// <summary>The Markdown report: targets as ratios to the baselines of the same run, then every scenario's figures.</summary>
public static class ReportWriter
{
    public static void Write(CommandLine options)
    {
        var state = BenchState.Load(options.Get("state"));
        var phases = options.Get("results").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(path => JsonSerializer.Deserialize<PhaseResults>(File.ReadAllText(path), BenchState.Json)!)
            .ToList();
        // A scenario named twice (BENCH_SCENARIOS=S1,S7,S1) reports its last measurement.
        var scenarios = phases.SelectMany(p => p.Scenarios).GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        var first = phases[0];
        var contacts = phases.Select(p => p.Contacts).FirstOrDefault(c => c is not null);
        var deals = phases.Select(p => p.Deals).FirstOrDefault(d => d is not null);
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));

        Line($"# Shohayota benchmark — {options.Get("started")}");
        Line($"");
        Line($"`{options.Get("command")}` ({options.Get("mode")} run, {options.Get("elapsed")} s in all) at commit `{options.Get("commit")}`.");
        Line($"");
        Line($"- Machine: {Environment.ProcessorCount} × {CpuModel()}, {MemoryGiB():F0} GiB, Linux {Kernel()}, {RuntimeInformation.FrameworkDescription}, {options.Get("postgres")} (managed by the Api, Unix socket, fsync on). Load average before the run: {options.Get("loadavg")}.");
        Line($"- Data: {state.Tenants.Count} tenants × {state.Tenants[0].Customers:N0} customers + one tenant with {state.BigTenant.Customers:N0} (plus {state.AllTenants.Sum(t => t.HotIds.Count):N0} created through the API{(contacts is null ? "" : F($"; before S11 (or S12b, S13) the big tenant also got {contacts.Rows:N0} contacts"))}{(deals is null ? "" : F($"; before S13 {deals.Rows:N0} deals"))}), all on plan `{state.Plan}`{(state.Plan == "bench" ? " (limits no scenario reaches: admission checks everything and refuses nothing)" : "")}; {first.Connections} connections; {first.DurationSeconds:F0} s per scenario after a {first.WarmupSeconds:F0} s warm-up; everything over loopback on this machine.");
        Line($"- Load generator: `bench/Load` (.NET HttpClient, closed loop, one worker per connection) on the same {Environment.ProcessorCount} cores as the servers: its CPU is a column below, so is everything else the machine did (“other”).");
        var csvImport = phases.Select(p => p.CsvImport).LastOrDefault(c => c is not null);
        var csvExport = phases.Select(p => p.CsvExport).LastOrDefault(c => c is not null);
        var noisy = scenarios.Values.Where(s => s.OtherCpuPercent > 10).Select(s => s.Name)
            .Concat(csvImport is { OtherCpuPercent: > 10 } ? ["S12a"] : []).Concat(csvExport is { OtherCpuPercent: > 10 } ? ["S12b"] : []).ToList();
        if (noisy.Count > 0)
        {
            Line($"- **Noisy machine**: other processes used more than 10 % of the CPU during {string.Join(", ", noisy)} (column “other procs”); those figures, and ratios built on them, are less trustworthy.");
        }

        Line($"");

        Line($"## Targets (issue 8)");
        Line($"");
        Line($"The issue's ratios are of req/s. Other processes took a varying share of the CPU while each scenario ran, so the same");
        Line($"ratio is also given from the server's and PostgreSQL's CPU per request, which that noise hardly moves.");
        Line($"");
        Line($"| target | measured (req/s) | | by CPU per request (server + PostgreSQL) | |");
        Line($"|---|---|---|---|---|");
        var pbkdf2 = phases.Select(p => p.Pbkdf2Milliseconds).FirstOrDefault(m => m is not null);
        var export = phases.Select(p => p.Export).FirstOrDefault(e => e is not null);
        var flood = phases.Select(p => p.Flood).LastOrDefault(f => f is not null);
        var scale = TenantScaleResult.Load(options.Find("tenant-scale"));
        foreach (var row in Targets(scenarios, first.Connections, pbkdf2, export, csvImport, csvExport).Concat(FloodTargets(flood))
                     .Concat(TenantScaleReport.Targets(scale).Select(t => new TargetRow(t.Target, t.Measured, t.Verdict))))
        {
            Line($"| {row.Target} | {row.Measured} | {row.Verdict} | {row.ByCpu} | {row.CpuVerdict} |");
        }

        Line($"");
        Line($"## Scenarios");
        Line($"");
        Line($"| | scenario | req/s | p50 ms | p99 ms | errors | server CPU ms/req | PostgreSQL CPU ms/req | load gen CPU ms/req | machine busy | other procs | server peak RSS | warm-up |");
        Line($"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var name in ScenarioCatalog.All)
        {
            if (name == "S4")
            {
                if (export is not null)
                {
                    Line($"| S4 | GET /api/tenants/export of the {export.Customers:N0}-customer tenant ({export.Bytes / 1048576.0:N1} MB), one at a time, median of {export.Runs} | {1 / export.MedianSeconds:F2} exports/s = **{export.RowsPerSecond:N0} customers/s** | | | {export.Errors} | {export.ServerCpuMsPerExport:N0} per export | {export.PostgresCpuMsPerExport:N0} per export | | | {export.OtherCpuPercent:F0} % | +{export.PeakGrowthMb:N1} MB peak growth | 1 export |");
                }

                continue;
            }

            if (name == "S12")
            {
                if (csvImport is not null)
                {
                    Line($"| S12a | POST /api/imports/customers of {csvImport.Rows:N0} generated customers ({csvImport.Bytes / 1048576.0:N1} MB CSV, new e-mails each time) into a tenant of its own, one at a time, median of {csvImport.Runs} (dry run of the same file {csvImport.DryRunMedianSeconds:F2} s) | {1 / csvImport.MedianSeconds:F2} imports/s = **{csvImport.RowsPerSecond:N0} rows/s** | {csvImport.MedianSeconds * 1000:N0} | | {csvImport.Errors} | {csvImport.ServerCpuMsPerImport:N0} per import | {csvImport.PostgresCpuMsPerImport:N0} per import | | | {csvImport.OtherCpuPercent:F0} % | +{csvImport.PeakGrowthMb:N1} MB peak growth | 1 import |");
                }

                if (csvExport is not null)
                {
                    Line($"| S12b | GET /api/contacts, Accept: text/csv, of the big tenant's {csvExport.Contacts:N0} contacts ({csvExport.Bytes / 1048576.0:N1} MB), one at a time, median of {csvExport.Runs} | {1 / csvExport.MedianSeconds:F2} exports/s = **{csvExport.RowsPerSecond:N0} rows/s** | {csvExport.MedianSeconds * 1000:N0} | | {csvExport.Errors} | {csvExport.ServerCpuMsPerExport:N0} per export | {csvExport.PostgresCpuMsPerExport:N0} per export | | | {csvExport.OtherCpuPercent:F0} % | +{csvExport.PeakGrowthMb:N1} MB peak growth | 1 export |");
                }

                continue;
            }

            foreach (var s in Named(scenarios, name))
            {
                Line($"| {s.Name} | {s.Title} | {s.RequestsPerSecond:N0} | {s.P50Ms:F2} | {s.P99Ms:F2} | {s.Errors:N0}{ErrorShare(s)} | {s.ServerCpuMsPerRequest:F3} | {s.PostgresCpuMsPerRequest:F3} | {s.LoadCpuMsPerRequest:F3} | {s.MachineBusyPercent:F0} % | {s.OtherCpuPercent:F0} % | {s.ServerPeakRssMb:N0} MB | {s.WarmupSeconds:F0} s |");
            }
        }

        var contactPages = Named(scenarios, "S11").ToList();
        var dealPages = Named(scenarios, "S13").ToList();
        var pages = Named(scenarios, "S3").Concat(contactPages).Concat(dealPages).ToList();
        if (pages.Count > 0)
        {
            var also = new[] { contactPages.Count > 0 ? "S11, contacts" : null, dealPages.Count > 0 ? "S13, deals" : null }.OfType<string>().ToList();
            Line($"");
            Line($"## S3 per page{(also.Count > 0 ? $" (and {string.Join("; ", also)})" : "")}");
            Line($"");
            Line($"Each kind of page measured on its own; the searches (S3c, S3e) at {ScenarioCatalog.SearchConnections} connections (targets p99 ≤ 50 ms and ≤ 20 ms), the other pages at {first.Connections} (judged against B4 above; issue 8's p99 ≤ 50 ms per page is shown for information). S3f and S3g filter by a tag: one on 1 row in 1,000 of the big tenant's, whose pages the tag's per-tenant keys give (sql/0260), and one on 1 row in 20, whose pages the sort's walk finds.{(contactPages.Count > 0 ? " S11a and S11b are S3a's and S3b's pages on the contacts of the same tenant, judged against S3a and S3b (issue 14: within 1.2×)." : "")}{(dealPages.Count > 0 ? F($" S13a and S13b are S3a's and S3b's pages on the same tenant's deals, judged against them too (issue 14: within 1.2×); S13c is `GET /api/pipeline` at {ScenarioCatalog.PipelineConnections} connections (issue 14: p99 ≤ 50 ms).") : "")}");
            Line($"");
            Line($"| page | connections | req/s | p50 ms | p99 ms | max ms | errors | PostgreSQL CPU ms/page | p99 ≤ 50 ms |");
            Line($"|---|--:|--:|--:|--:|--:|--:|--:|---|");
            foreach (var p in pages)
            {
                Line($"| {p.Name}: {p.Title} | {p.Connections} | {p.RequestsPerSecond:N0} | {p.P50Ms:F2} | {p.P99Ms:F2} | {p.MaxMs:F1} | {p.Errors:N0} | {p.PostgresCpuMsPerRequest:F3} | {Mark(p.P99Ms <= 50)} |");
            }
        }

        if (flood is not null)
        {
            Line($"");
            Line($"## S9: sign-in flood vs. normal traffic (issue 15)");
            Line($"");
            Line($"The Api of this phase trusts loopback as its balancer{ServerArguments(phases, "s9")}, so `X-Forwarded-For` names the client. S9a: S1-style hot reads by the other tenants' admins alone; S9b: the same reads while {flood.AttackerConnections} attacker connections (closed loop) post wrong passwords for the first tenant's admin from {(flood.AttackerAddresses == 1 ? $"one address, {flood.AttackerAddressRange}" : $"{flood.AttackerAddresses} rotating addresses, {flood.AttackerAddressRange}")}, and that admin (the owner) signs in {flood.OwnerTries} times with the right password from {flood.OwnerAddress}, one after another, spread over S9b's warm-up and measurement; a sign-in not answered within {Flood.OwnerTimeout.TotalSeconds:F0} s counts as failed.");
            Line($"");
            Line($"| | alone (S9a) | under flood (S9b) | ratio |");
            Line($"|---|--:|--:|--:|");
            Line($"| other tenants' reads, req/s | {flood.Alone.RequestsPerSecond:N0} | {flood.UnderFlood.RequestsPerSecond:N0} | {flood.UnderFlood.RequestsPerSecond / Math.Max(1, flood.Alone.RequestsPerSecond):F2} |");
            Line($"| other tenants' reads, p99 ms | {flood.Alone.P99Ms:F2} | {flood.UnderFlood.P99Ms:F2} | {flood.UnderFlood.P99Ms / Math.Max(0.001, flood.Alone.P99Ms):F1} × |");
            Line($"| other tenants' reads, errors | {flood.Alone.Errors:N0} | {flood.UnderFlood.Errors:N0} | |");
            Line($"");
            Line($"- Owner's sign-ins: {flood.OwnerSignedIn} of {flood.OwnerTries} succeeded; latency p50 **{flood.OwnerP50Ms:N0} ms**, p95 **{flood.OwnerP95Ms:N0} ms**, max {flood.OwnerMaxMs:N0} ms; answers: {Outcomes(flood.OwnerOutcomes)}.");
            Line($"- Attacker: {flood.AttackerRequests:N0} attempts, {flood.AttackerPerSecond:N0}/s; answers: {Outcomes(flood.AttackerOutcomes)}.");
        }

        TenantScaleReport.Section(scale, text);

        var failures = scenarios.Values.Where(s => s.ErrorReasons.Count > 0).ToList();
        var transferErrors = new[] { ("S12a", csvImport?.FirstError), ("S12b", csvExport?.FirstError) }.Where(e => e.Item2 is not null).ToList();
        if (failures.Count > 0 || transferErrors.Count > 0)
        {
            Line($"");
            Line($"## Errors");
            Line($"");
            foreach (var s in failures)
            {
                Line($"- {s.Name}: {string.Join(", ", s.ErrorReasons.Select(r => $"{r.Value:N0} × {r.Key}"))}");
            }

            foreach (var (name, error) in transferErrors)
            {
                Line($"- {name} (first): {error}");
            }
        }

        var seed = state.Seed;
        Line($"");
        Line($"## Seeding");
        Line($"");
        Line($"- {state.Tenants.Count + 1} tenants provisioned through `POST /api/admin/tenants/provision` in {seed.ProvisionSeconds:F1} s.");
        Line($"- {seed.BulkRows:N0} customers bulk-inserted (one `INSERT … SELECT generate_series` per tenant, as the PostgreSQL superuser) in {seed.BulkInsertSeconds:F1} s ({seed.BulkRows / Math.Max(seed.BulkInsertSeconds, 0.001):N0} rows/s), then `VACUUM (ANALYZE) customers` in {seed.AnalyzeSeconds:F1} s.");
        Line($"- {seed.ApiCreated:N0} customers created through `POST /api/customers` in {seed.ApiCreateSeconds:F1} s: the ids S1, S1k, S5, S7 and B1/B2 read.");
        if (contacts is not null)
        {
            if (contacts.Existing)
            {
                Line($"- S11/S12b: the big tenant already had {contacts.Rows:N0} contacts.");
            }
            else
            {
                Line($"- Right before the first scenario that reads them (S11's first page, or S12b or S13 without S11): {contacts.Rows:N0} contacts of the big tenant bulk-inserted (one `INSERT … SELECT generate_series` as the superuser, each linked to one of the tenant's customers in turn, created one second apart like them) in {contacts.InsertSeconds:F1} s, then `VACUUM (ANALYZE) contacts` in {contacts.AnalyzeSeconds:F1} s.");
            }
        }

        if (deals is not null)
        {
            if (deals.Existing)
            {
                Line($"- S13: the big tenant already had {deals.Rows:N0} deals.");
            }
            else
            {
                Line($"- Right before S13's first scenario: the big tenant's six default pipeline stages inserted as the superuser (the rows and ids its `PipelineGrain` creates on first use, so the grain first activates after the seeding; {deals.Stages} stages in all), then {deals.Rows:N0} deals bulk-inserted (one `INSERT … SELECT generate_series`: with the default stages Lead 25 %, Qualified 20 %, Proposal 15 %, Negotiation 10 %, Won 15 %, Lost 15 %; EUR 46 %, USD 38 %, GBP 15 %; amounts 500–250,000; expected close dates, closed_at on the won and lost; each of one of the tenant's customers) and {deals.ContactLinks:N0} links to their customers' contacts (four deals in ten) in {deals.InsertSeconds:F1} s, then `VACUUM (ANALYZE) deals, deal_contacts` in {deals.AnalyzeSeconds:F1} s; `GET /api/pipeline` then had to count all {deals.Rows:N0}.");
            }
        }

        Line($"");
        Line($"## How to read this");
        Line($"");
        Line($"- Ratios, not absolute numbers, are the claims: the baselines ran minutes apart from the scenarios on the same machine.");
        Line($"- B1–B4 are `bench/Baseline`, a bare ASP.NET Core minimal API: no authentication, no Orleans. B2, B3 and B4 connect as the PostgreSQL superuser over the same Unix socket (no row-level security, no `set_config`): the database's own ceiling. The Api connects as `shohayota_app` under RLS and sets the tenant per transaction. B3 writes its audit-like row to the bench-only table `bench_audit`. B4 runs S3a's and S3b's page query (`customers_created_idx`, 50 rows + 1, newest first, keyset after `(created_at, id)`) and answers the same JSON shape.");
        Line($"- S11a and S11b are S3a's and S3b's requests on `GET /api/contacts` (the same keyset paging on `contacts_created_idx`, cursors walked the same way) for the big tenant's contacts, seeded only when S11 (or S12b) runs, right before its first page (in a full run after S4, so the export measures the tenant as it was before contacts existed). The targets set them against S3a and S3b of the same run: within 1.2× means ≥ 1/1.2 = 0.83 × by req/s.");
        Line($"- S13a and S13b are S3a's and S3b's requests on `GET /api/deals` (newest first on `deals_created_idx`, each row with its contact ids, cursors walked the same way) for the big tenant's deals, seeded only when S13 runs, right before its first scenario (after its contacts: the issue's tenant has both), judged against S3a and S3b of the same run (≥ 0.83 × by req/s). S13c is `GET /api/pipeline` at {ScenarioCatalog.PipelineConnections} connections: the tenant's stages (held by its `PipelineGrain`) with the count and the sums per currency of their deals, aggregated from `deals` on every request (plans in `bench/explain/deals.md`); target p99 ≤ 50 ms.");
        Line($"- S12a (issue 14: a CSV import of 10,000 rows ≤ 10 s) posts a generated customers file (`name,email,phone,company,status,tags,notes`, CRLF, some cells quoted, about {(csvImport is null ? 135 : csvImport.Bytes / Math.Max(csvImport.Rows, 1)):N0} bytes a row, e-mail addresses new in every file) to `POST /api/imports/customers` as the admin of a tenant S12a provisions for itself through the API (on the run's plan; the seeded tenants, the big one above all, keep the rows S3, S4 and S10 count): one transaction with the customers (one `INSERT … SELECT … FROM jsonb_to_recordset`), one audit entry per customer and the import's own entry, through the tenant's audit writer. One unmeasured import, then three (each file first sent as a dry run, `?dryRun=true`, timed apart: parsing, the rules and the duplicate look-up, no writing); seconds are the median import, CPU is the server's and PostgreSQL's per import, memory the peak RSS (every 10 ms) during an import over the RSS just before it, worst of the three. The tenant ends with 40,000 customers.");
        Line($"- S12b (issue 14: a CSV export of 100,000 contacts ≥ 50,000 rows/s with flat memory) downloads `GET /api/contacts` with `Accept: text/csv` as the big tenant's admin (every contact, streamed by the server in 200-row keyset pages; a heavy route, one at a time per tenant) and counts its lines (the header aside, each must be one of the tenant's contacts); as S4: one unmeasured export, then three, rows/s of the median, the same ≤ 64 MB bound on peak RSS growth. Its contacts are S11's (seeded by S12b if S11 did not run).");
        Line($"- S1, S2, S3, S5, S7, S8, S11 and S13 carry a tenant admin's bearer token: every request validates the JWT and (except S5) asks the tenant's `TenantGrain` to admit it. S5e, S5 and S5e2 end the main phase, in one process: S5e and S5e2 are S1 again with enforcement on, just before and just after S5, which is the same reads with enforcement switched off by the benchmark-only `PUT /api/admin/benchmark/admission`; S5's overhead is judged against the mean of S5e and S5e2, which cancels the process's drift over the three (two starts of the Api differed by up to 15 % in CPU per request on their own, more than admission costs), and S1 vs S5 is shown beside it (no target).");
        Line($"- S1k is S1's load (same tenant, hot ids, connections and duration, right after S1 on the same start) with a tenant API key instead of the JWT: a key the bench creates at the start of the phase with the first tenant's admin (`POST /api/api-keys`, role `tenant_admin`), sent as `Authorization: Bearer shy_…`. Each node looks a key up once (its SHA-256 through the key directory), admits it from memory and looks it up again in the background while it is in use. S1k/S1 is what authenticating with a key instead of a cached JWT leaves of read throughput.");
        Line($"- S1r is S1k with a second key of the same tenant and role that carries its own rate limit (`rateLimitPerMinute` 1,000,000, never reached in the run): every request also draws on the key's bucket grain. S1r/S1k is what a key's own limit costs a read; keys without a limit do not pay it.");
        Line($"- S8 is S2's load (same creates, same tenant admin, admission on) against another start of the Api with the benchmark-only `--Shohayota:Benchmark:AuditOff=true`{ServerArguments(phases, "s8")}: each create does the same quota reservation and runs the same `INSERT` in a transaction of its own, without the `AuditLogGrain` (no entry, hash chain or group commit). S2/S8 is what the audit log leaves of create throughput.");
        Line($"- CPU per request: utime + stime from `/proc` over the measured {first.DurationSeconds:F0} s, divided by the requests answered. “Server” is the process serving the scenario (the Api, or the baseline host for B1–B4); PostgreSQL is the postmaster and all its backends; “other procs” is the share of the machine's CPU that none of these nor the load generator used (noise from whatever else ran).");
        Line($"- Server peak RSS: the highest VmRSS sampled every 100 ms during the scenario. S4's and S12's growth is the peak during one export or import (sampled every 10 ms) over the RSS just before it, worst of the runs.");
        Line($"- Warm-up: at least {first.WarmupSeconds:F0} s, then 2 s slices (each followed by 1 s of quiet) until the server's CPU per request has stopped falling for two slices (at most 6 × as long): with both cores saturated the runtime's background tier-1 JIT is starved, and a short fixed warm-up measured the first scenario after a start at about twice the CPU per request of a repeat of it.");

        File.WriteAllText(options.Get("out"), text.ToString());
    }

    /// <summary>One line of the targets table: the issue's figure by req/s and, for throughput ratios, by CPU per request.</summary>
    private sealed record TargetRow(string Target, string Measured, string Verdict, string ByCpu = "", string CpuVerdict = "");

    private static IEnumerable<TargetRow> Targets(
        Dictionary<string, ScenarioResult> s, int connections, double? pbkdf2Milliseconds, ExportResult? export,
        CsvImportResult? csvImport, CsvExportResult? csvExport)
    {
        string Rate(string name) => s.TryGetValue(name, out var r) ? F($"{name} {r.RequestsPerSecond:N0}") : $"{name} not measured";

        // CPU per request of the server and PostgreSQL together: what each side would serve with the machine to itself.
        static double Cost(ScenarioResult r) => r.ServerCpuMsPerRequest + r.PostgresCpuMsPerRequest;

        // bottomMean: the bottom's result when it is the mean of two runs (B1 and B1b), with how the row names it.
        TargetRow Ratio(string target, string top, string bottom, double minimum, (ScenarioResult Result, string Label)? bottomMean = null)
        {
            if (!s.TryGetValue(top, out var a) || (bottomMean?.Result ?? s.GetValueOrDefault(bottom)) is not { } b || b.RequestsPerSecond == 0 || Cost(a) == 0)
            {
                return new TargetRow(target, $"not measured ({Rate(top)}, {Rate(bottom)})", "—");
            }

            var ratio = a.RequestsPerSecond / b.RequestsPerSecond;
            var byCpu = Cost(b) / Cost(a);
            return new TargetRow(target,
                F($"{top}/{bottom} = **{ratio:F2}** ({Rate(top)} / {bottomMean?.Label ?? Rate(bottom)} req/s)"), Mark(ratio >= minimum),
                F($"**{byCpu:F2}** ({Cost(a):F3} vs {Cost(b):F3} ms)"), Mark(byCpu >= minimum));
        }

        // S1 against the mean of B1 just before it and B1b just after it (run.sh puts them there): within one run the
        // machine's speed drifted between scenarios minutes apart (in one, the load generator's own CPU per request, much
        // the same work for B1 and S1, was 0.035 ms in B1 and 0.055 ms in S1), which a ceiling measured minutes earlier
        // does not cancel.
        (ScenarioResult, string)? httpCeiling = s.TryGetValue("B1", out var b1) && s.TryGetValue("B1b", out var b1b)
            ? (b1 with
            {
                RequestsPerSecond = (b1.RequestsPerSecond + b1b.RequestsPerSecond) / 2,
                ServerCpuMsPerRequest = (b1.ServerCpuMsPerRequest + b1b.ServerCpuMsPerRequest) / 2,
                PostgresCpuMsPerRequest = (b1.PostgresCpuMsPerRequest + b1b.PostgresCpuMsPerRequest) / 2,
            }, F($"B1 {b1.RequestsPerSecond:N0} and B1b {b1b.RequestsPerSecond:N0}, mean {(b1.RequestsPerSecond + b1b.RequestsPerSecond) / 2:N0}"))
            : null;
        yield return Ratio("S1 ≥ 0.5 × B1 (HTTP ceiling; against B1 and B1b, just before and just after S1)", "S1", "B1", 0.5, httpCeiling);
        yield return Ratio("S1 ≥ 2 × B2 (a cached grain read beats a database read)", "S1", "B2", 2.0);
        if (s.TryGetValue("S1", out var s1))
        {
            yield return new TargetRow("S1 p99 ≤ 10 ms at 64 connections",
                F($"**{s1.P99Ms:F2} ms** at {connections} connections (p50 {s1.P50Ms:F2} ms)"),
                connections == 64 ? Mark(s1.P99Ms <= 10) : "— (not 64 connections)");
        }

        // S1k is S1 with a tenant API key for the admin's JWT, measured right after it on the same start: what a key costs a read.
        var keyed = Ratio("S1k ≥ 0.95 × S1 (a tenant API key instead of the admin's JWT)", "S1k", "S1", 0.95);
        yield return s.TryGetValue("S1k", out var s1k) && s1 is not null
            ? keyed with { Measured = keyed.Measured + F($"; p99 **{s1k.P99Ms:F2} ms** (S1 {s1.P99Ms:F2} ms)") }
            : keyed;

        // S1r is S1k with a key that has its own rate limit: what the key's bucket (a grain call per request) costs a read.
        if (s.TryGetValue("S1r", out var s1r) && s.TryGetValue("S1k", out var plainKey) && plainKey.RequestsPerSecond > 0)
        {
            yield return new TargetRow("S1r vs S1k (no target: what a key's own rate limit costs a read)",
                F($"S1r/S1k = **{s1r.RequestsPerSecond / plainKey.RequestsPerSecond:F2}** (S1r {s1r.RequestsPerSecond:N0} req/s, p99 {s1r.P99Ms:F2} ms)"), "info");
        }

        yield return Ratio("S2 ≥ 0.7 × B3 (durable write ceiling)", "S2", "B3", 0.7);
        foreach (var row in ListTargets(s))
        {
            yield return row;
        }

        // Issue 14: a contacts list page within 1.2× of the customers list page, the same kind of page in the same run.
        foreach (var (contactsPage, customersPage, what) in new[] { ("S11a", "S3a", "first page"), ("S11b", "S3b", "deep keyset pages") })
        {
            var row = Ratio($"{contactsPage} ≥ 1/1.2 = 0.83 × {customersPage} (contacts {what} within 1.2× of the customers list page, issue 14)",
                contactsPage, customersPage, 1 / 1.2);
            yield return s.TryGetValue(contactsPage, out var c) && s.TryGetValue(customersPage, out var k)
                ? row with { Measured = row.Measured + F($"; p50/p99 **{c.P50Ms:F2}/{c.P99Ms:F2} ms** ({customersPage} {k.P50Ms:F2}/{k.P99Ms:F2} ms)") }
                : row;
        }

        // Issue 14: a deals list page within 1.2× of the customers list page too, and the pipeline summary's p99.
        foreach (var (dealsPage, customersPage, what) in new[] { ("S13a", "S3a", "first page"), ("S13b", "S3b", "deep keyset pages") })
        {
            var row = Ratio($"{dealsPage} ≥ 1/1.2 = 0.83 × {customersPage} (deals {what} within 1.2× of the customers list page, issue 14)",
                dealsPage, customersPage, 1 / 1.2);
            yield return s.TryGetValue(dealsPage, out var d) && s.TryGetValue(customersPage, out var k)
                ? row with { Measured = row.Measured + F($"; p50/p99 **{d.P50Ms:F2}/{d.P99Ms:F2} ms** ({customersPage} {k.P50Ms:F2}/{k.P99Ms:F2} ms)") }
                : row;
        }

        var pipelineTarget = F($"S13c GET /api/pipeline p99 ≤ 50 ms at {ScenarioCatalog.PipelineConnections} connections (issue 14)");
        yield return s.TryGetValue("S13c", out var pipeline)
            ? new TargetRow(pipelineTarget,
                F($"**{pipeline.P99Ms:F2} ms** at {pipeline.Connections} connections (p50 {pipeline.P50Ms:F2} ms, {pipeline.RequestsPerSecond:N0} req/s; CPU per request server {pipeline.ServerCpuMsPerRequest:F3} ms, PostgreSQL {pipeline.PostgresCpuMsPerRequest:F3} ms)"),
                pipeline.Connections == ScenarioCatalog.PipelineConnections ? Mark(pipeline.P99Ms <= 50 && pipeline.Errors == 0) : F($"— (not {ScenarioCatalog.PipelineConnections} connections)"))
            : new TargetRow(pipelineTarget, "not measured", "—");

        yield return export is null
            ? new TargetRow("S4 ≥ 50,000 rows/s with ≤ 64 MB peak memory growth", "not measured", "—")
            : new TargetRow("S4 ≥ 50,000 rows/s with ≤ 64 MB peak memory growth",
                F($"**{export.RowsPerSecond:N0} customers/s** (median {export.MedianSeconds:F2} s for {export.Customers:N0}), **+{export.PeakGrowthMb:N1} MB** peak RSS"),
                Mark(export.RowsPerSecond >= 50_000 && export.PeakGrowthMb <= 64 && export.Errors == 0));

        // Issue 14: CSV in and out, one at a time, medians of three as S4.
        const string importTarget = "S12a CSV import of 10,000 customers ≤ 10 s (one transaction, one audit entry per record; issue 14)";
        yield return csvImport is null
            ? new TargetRow(importTarget, "not measured", "—")
            : new TargetRow(importTarget,
                F($"**{csvImport.MedianSeconds:F2} s** (median of {csvImport.Runs}: {string.Join(", ", csvImport.Seconds.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} s), {csvImport.RowsPerSecond:N0} rows/s; CPU per import server {csvImport.ServerCpuMsPerImport / 1000:F2} s + PostgreSQL {csvImport.PostgresCpuMsPerImport / 1000:F2} s; +{csvImport.PeakGrowthMb:N1} MB peak RSS; dry run {csvImport.DryRunMedianSeconds:F2} s"),
                Mark(csvImport.Rows >= 10_000 && csvImport.MedianSeconds <= 10 && csvImport.Errors == 0));
        const string exportTarget = "S12b CSV export of 100,000 contacts ≥ 50,000 rows/s with ≤ 64 MB peak memory growth (issue 14)";
        yield return csvExport is null
            ? new TargetRow(exportTarget, "not measured", "—")
            : new TargetRow(exportTarget,
                F($"**{csvExport.RowsPerSecond:N0} rows/s** (median {csvExport.MedianSeconds:F2} s for {csvExport.Rows:N0}), **+{csvExport.PeakGrowthMb:N1} MB** peak RSS"),
                Mark(csvExport.RowsPerSecond >= 50_000 && csvExport.PeakGrowthMb <= 64 && csvExport.Errors == 0));
        // S5 against S5e and S5e2, the same reads just before and just after it in the same process: their mean cancels a
        // drift of the process over the three (its CPU per request fell from each scenario to the next in two runs). S1
        // ran earlier in the phase.
        (double Rate, double Cost, string Label)? Baseline(string name) =>
            !s.TryGetValue(name, out var first) ? null
            : name == "S5e" && s.TryGetValue("S5e2", out var second)
                ? ((first.RequestsPerSecond + second.RequestsPerSecond) / 2, (Cost(first) + Cost(second)) / 2,
                    F($"S5e {first.RequestsPerSecond:N0} and S5e2 {second.RequestsPerSecond:N0}, mean"))
                : (first.RequestsPerSecond, Cost(first), name);
        foreach (var (baseline, target, judged) in new[] { ("S5e", "S5: enforcement overhead ≤ 10 % (against S5e and S5e2: the same reads just before and after, same process)", true), ("S1", "S5 vs S1 (no target: S1 ran earlier in the phase)", false) })
        {
            if (Baseline(baseline) is { } on && s.TryGetValue("S5", out var off) && off.RequestsPerSecond > 0 && on.Cost > 0)
            {
                var overhead = 1 - on.Rate / off.RequestsPerSecond;
                var byCpu = 1 - Cost(off) / on.Cost;
                var measured = overhead >= 0
                    ? F($"**{overhead * 100:F1} %** fewer req/s with enforcement")
                    : F($"**none measurable**: {baseline} was {-overhead * 100:F1} % faster than S5 (noise)");
                yield return new TargetRow(target,
                    F($"{measured} ({on.Label} {on.Rate:N0} vs S5 {off.RequestsPerSecond:N0} req/s)"), judged ? Mark(overhead <= 0.10) : "info",
                    F($"**{byCpu * 100:F1} %** ({on.Cost:F3} vs {Cost(off):F3} ms)"), judged ? Mark(byCpu <= 0.10) : "info");
            }
            else if (judged)
            {
                yield return new TargetRow(target, $"not measured ({Rate(baseline)}, {Rate("S5")})", "—");
            }
        }

        yield return Ratio("S8: create throughput with audit ≥ 0.8 × without (S2 audit on / S8 audit off)", "S2", "S8", 0.8);

        if (s.TryGetValue("S7", out var s7) && s.TryGetValue("S1", out var one) && one.RequestsPerSecond > 0 && Cost(s7) > 0)
        {
            yield return new TargetRow("S7 vs S1 (no numeric target: ≈ 1 or more means no single tenant's grains limit S1)",
                F($"S7/S1 = **{s7.RequestsPerSecond / one.RequestsPerSecond:F2}** (S7 {s7.RequestsPerSecond:N0}, p99 {s7.P99Ms:F2} ms)"), "info",
                F($"**{Cost(one) / Cost(s7):F2}**"), "info");
        }

        if (s.TryGetValue("S6", out var s6))
        {
            var ceiling = pbkdf2Milliseconds is { } hash
                ? F($"; one PBKDF2 hash alone costs {hash:F0} ms CPU here, so {Environment.ProcessorCount} cores cap sign-ins at {Environment.ProcessorCount * 1000 / hash:N1}/s")
                : "";
            yield return new TargetRow("S6 sign-in rate (no target)",
                F($"**{s6.RequestsPerSecond:N1}/s**, server CPU {s6.ServerCpuMsPerRequest:F0} ms per sign-in{ceiling}"), "info");
        }
    }

    /// <summary>Issue 17: list pages against B4 (the same page query bare), searches by p99 at their own connection count.</summary>
    private static IEnumerable<TargetRow> ListTargets(Dictionary<string, ScenarioResult> s)
    {
        static double Cost(ScenarioResult r) => r.ServerCpuMsPerRequest + r.PostgresCpuMsPerRequest;

        foreach (var (page, baseline) in new[] { ("S3a", "B4a"), ("S3b", "B4b"), ("S3d", "B4b") })
        {
            var target = $"{page} ≥ 0.7 × {baseline} (the same page query bare: superuser, no RLS)";
            if (!s.TryGetValue(page, out var a) || !s.TryGetValue(baseline, out var b) || b.RequestsPerSecond == 0 || Cost(a) == 0)
            {
                yield return new TargetRow(target, $"not measured ({page}, {baseline})", "—");
                continue;
            }

            var ratio = a.RequestsPerSecond / b.RequestsPerSecond;
            var byCpu = Cost(b) / Cost(a);
            yield return new TargetRow(target,
                F($"{page}/{baseline} = **{ratio:F2}** ({page} {a.RequestsPerSecond:N0} / {baseline} {b.RequestsPerSecond:N0} req/s)"), Mark(ratio >= 0.7),
                F($"**{byCpu:F2}** ({Cost(a):F3} vs {Cost(b):F3} ms)"), Mark(byCpu >= 0.7));
        }

        // Tag filters (sql/0260): no target of the issue's; beside the bare page query for scale.
        foreach (var (page, what) in new[] { ("S3f", "a tag on 1 row in 1,000, through its per-tenant keys"), ("S3g", "a tag on 1 row in 20, found by the sort's walk") })
        {
            var target = $"{page} tag filter: {what} (no target; against B4b for scale)";
            yield return s.TryGetValue(page, out var a) && s.TryGetValue("B4b", out var b) && b.RequestsPerSecond > 0
                ? new TargetRow(target, F($"{page}/B4b = **{a.RequestsPerSecond / b.RequestsPerSecond:F2}** ({a.RequestsPerSecond:N0} req/s, p99 {a.P99Ms:F2} ms, PostgreSQL CPU {a.PostgresCpuMsPerRequest:F3} ms per page)"), "info")
                : s.TryGetValue(page, out var alone)
                    ? new TargetRow(target, F($"{alone.RequestsPerSecond:N0} req/s, p99 {alone.P99Ms:F2} ms, PostgreSQL CPU {alone.PostgresCpuMsPerRequest:F3} ms per page (B4b not measured)"), "info")
                    : new TargetRow(target, "not measured", "—");
        }

        foreach (var (name, limit, what) in new[] { ("S3c", 50.0, "on the 100,000-customer tenant"), ("S3e", 20.0, "on a 10,000-customer tenant beside it") })
        {
            var target = F($"{name} search p99 ≤ {limit:F0} ms at {ScenarioCatalog.SearchConnections} connections {what}");
            yield return s.TryGetValue(name, out var r)
                ? new TargetRow(target, F($"**{r.P99Ms:F2} ms** at {r.Connections} connections (p50 {r.P50Ms:F2} ms, {r.RequestsPerSecond:N0} searches/s, PostgreSQL CPU {r.PostgresCpuMsPerRequest:F3} ms each)"),
                    r.Connections == ScenarioCatalog.SearchConnections ? Mark(r.P99Ms <= limit && r.Errors == 0) : F($"— (not {ScenarioCatalog.SearchConnections} connections)"))
                : new TargetRow(target, "not measured", "—");
        }

        var pages = Named(s, "S3").ToList();
        if (pages.Count > 0)
        {
            var worst = pages.MaxBy(p => p.P99Ms)!;
            yield return new TargetRow("S3 p99 per page (issue 8's ≤ 50 ms, now information)",
                F($"worst page **{worst.P99Ms:F2} ms** ({worst.Name}); each page below"), "info");
        }
    }

    private static IEnumerable<TargetRow> FloodTargets(FloodResult? flood)
    {
        if (flood is null)
        {
            yield break;
        }

        yield return new TargetRow("S9 other tenants' reads under a sign-in flood vs. alone (no numeric target)",
            F($"req/s **{flood.UnderFlood.RequestsPerSecond / Math.Max(1, flood.Alone.RequestsPerSecond):F2}** × ({flood.Alone.RequestsPerSecond:N0} → {flood.UnderFlood.RequestsPerSecond:N0}), p99 {flood.Alone.P99Ms:F2} → **{flood.UnderFlood.P99Ms:F2} ms**"), "info");
        yield return new TargetRow("S9 owner signs in during the flood within 2 s, p95 over 20 tries (issue 15)",
            F($"**{flood.OwnerSignedIn}/{flood.OwnerTries}** signed in, p50 {flood.OwnerP50Ms:N0} ms, p95 **{flood.OwnerP95Ms:N0} ms**"),
            Mark(flood.OwnerSignedIn == flood.OwnerTries && flood.OwnerP95Ms <= 2000));
        yield return new TargetRow("S9 attacker's answers",
            F($"{flood.AttackerPerSecond:N0}/s: {Outcomes(flood.AttackerOutcomes)}"), "info");
    }

    private static string Outcomes(IReadOnlyDictionary<string, long> outcomes) =>
        outcomes.Count == 0 ? "none" : string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => F($"{o.Value:N0} × {(o.Key == "0" ? $"no answer within {Flood.OwnerTimeout.TotalSeconds:F0} s" : o.Key)}")));

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The results a scenario name stands for: itself, or S3's page kinds (S3a, S3b, …), B4's two pages, S11's two pages, S13's three, or S9's two runs.</summary>
    private static IEnumerable<ScenarioResult> Named(Dictionary<string, ScenarioResult> scenarios, string name) =>
        scenarios.Values.Where(s => s.Name == name || (name is "S3" or "S9" or "B4" or "S11" or "S13" && s.Name.StartsWith(name, StringComparison.Ordinal)))
            .OrderBy(s => s.Name, StringComparer.Ordinal);

    private static string Mark(bool met) => met ? "✓" : "✗";

    private static string ErrorShare(ScenarioResult s) =>
        s.Errors == 0 || s.Requests == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" ({100.0 * s.Errors / s.Requests:F1} %)");

    private static string ServerArguments(List<PhaseResults> phases, string phase) =>
        string.Join("", phases.Where(p => p.Phase == phase && p.ServerArguments.Length > 0).Select(p => $" (phase {p.Phase}: `{p.ServerArguments}`)"));

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    private static double MemoryGiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
    }

    private static string Kernel() => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
}
