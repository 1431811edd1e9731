using System.Globalization;
using System.Text;

namespace Shohayota.Load;

/// <summary>S10's lines in the report: its target rows and its own section.</summary>
public static class TenantScaleReport
{
    public static IEnumerable<(string Target, string Measured, string Verdict)> Targets(TenantScaleResult? r)
    {
        if (r is null)
        {
            yield break;
        }

        var (heap, rss, tenants) = PerTenant(r);
        yield return ("S10 memory ≤ 50 KB per idle-but-active tenant (all its grains; after a full GC)",
            F($"**{heap / 1024:N1} KB** managed heap, {rss / 1024:N1} KB RSS per tenant ({tenants:N0} tenants activated)"), Mark(heap <= 50 * 1024));
        yield return ("S10 cold first request p99 ≤ 50 ms at 16 connections",
            F($"**{r.Cold.P99Ms:F1} ms** (p50 {r.Cold.P50Ms:F1} ms) at {r.Connections} connections; warm p99 {r.Warm.P99Ms:F1} ms"),
            r.Connections == 16 ? Mark(r.Cold.P99Ms <= 50 && r.Cold.Errors == 0) : "— (not 16 connections)");
        foreach (var list in r.Lists)
        {
            yield return (F($"S10 tenant list p99 ≤ 50 ms ({list.Name})"), F($"**{list.P99Ms:F2} ms** (p50 {list.P50Ms:F2} ms, {list.RequestsPerSecond:N0} req/s)"),
                Mark(list.P99Ms <= 50 && list.Errors == 0));
        }

        var returned = r.AfterCold.GcHeapBytes - r.Collected.GcHeapBytes;
        yield return ("S10 idle tenants' grains deactivated and their memory returned",
            F($"{r.AfterCold.Activations:N0} → **{r.Collected.Activations:N0}** activations {r.CollectedAfterSeconds:F0} s after the last request (collection age {r.CollectionAgeSeconds:F0} s); heap {Mb(r.AfterCold.GcHeapBytes)} → **{Mb(r.Collected.GcHeapBytes)}** MB ({Mb(returned)} MB returned)"),
            Mark(r.Collected.Activations <= r.Start.Activations + 50));
    }

    public static void Section(TenantScaleResult? r, StringBuilder text)
    {
        if (r is null)
        {
            return;
        }

        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
        var (heap, rss, tenants) = PerTenant(r);
        Line($"");
        Line($"## S10: cost per tenant");
        Line($"");
        Line($"A fourth start of the Api with `--Shohayota:Grains:CollectionAge={TimeSpan.FromSeconds(r.CollectionAgeSeconds)}` (production default 15 minutes). {r.Tenants:N0} tenants seeded in bulk in {r.SeedSeconds:F1} s (a `tenants` row, one tenant admin sharing one PBKDF2 hash, {r.CustomersPerTenant} customers each, as the PostgreSQL superuser; the time includes the `VACUUM (ANALYZE)` and `CHECKPOINT` after the insert); their admins' access tokens minted by the bench with the signing key the Api generated in the bench's data directory (bench-only: the same claims, type and lifetime as `TokenIssuer`). Each request is `GET /api/customers?pageSize=1` as the tenant's admin: admission by its `TenantGrain`, then its customer-query worker. The first {r.WarmUpTenants} tenants warm the code paths and are not counted.");
        Line($"");
        Line($"| | requests | req/s | p50 ms | p99 ms | max ms | errors | server CPU ms/req | PostgreSQL CPU ms/req | other procs |");
        Line($"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var (name, p) in new[] { ("S10a cold: each tenant's first request (activation)", r.Cold), ("S10b warm: each tenant once more", r.Warm) })
        {
            Line($"| {name} | {p.Requests:N0} | {p.RequestsPerSecond:N0} | {p.P50Ms:F2} | {p.P99Ms:F2} | {p.MaxMs:F1} | {p.Errors:N0} | {p.ServerCpuMsPerRequest:F3} | {p.PostgresCpuMsPerRequest:F3} | {p.OtherCpuPercent:F0} % |");
        }

        foreach (var list in r.Lists)
        {
            Line($"| {list.Name}: {list.Title} | {list.Requests:N0} | {list.RequestsPerSecond:N0} | {list.P50Ms:F2} | {list.P99Ms:F2} | {list.MaxMs:F1} | {list.Errors:N0} | {list.ServerCpuMsPerRequest:F3} | {list.PostgresCpuMsPerRequest:F3} | {list.OtherCpuPercent:F0} % |");
        }

        foreach (var (name, p) in new[] { ("S10a", r.Cold), ("S10b", r.Warm) }.Where(p => p.Item2.ErrorReasons.Count > 0))
        {
            Line($"");
            Line($"{name} errors: {string.Join(", ", p.ErrorReasons.Select(e => F($"{e.Value:N0} × {e.Key}")))}.");
        }

        Line($"");
        Line($"Memory after a full compacting GC (benchmark-only `POST /api/admin/benchmark/memory`):");
        Line($"");
        Line($"| moment | activations | managed heap MB | committed MB | RSS MB |");
        Line($"|---|--:|--:|--:|--:|");
        foreach (var (moment, m) in new[]
                 {
                     ("start of the phase", r.Start), ($"after the {r.WarmUpTenants} warm-up tenants", r.BeforeCold), ($"after {r.Cold.Requests:N0} more tenants' first requests", r.AfterCold),
                     ($"{r.CollectedAfterSeconds:F0} s after the last request", r.Collected),
                 })
        {
            Line($"| {moment} | {m.Activations:N0} | {Mb(m.GcHeapBytes)} | {Mb(m.GcCommittedBytes)} | {Mb(m.WorkingSetBytes)} |");
        }

        Line($"");
        Line($"- Per active tenant: **{heap / 1024:N1} KB** of managed heap and {rss / 1024:N1} KB of RSS ({tenants:N0} tenants activated; {(double)(r.AfterCold.Activations - r.BeforeCold.Activations) / Math.Max(1, tenants):F1} activations each).");
        var (collections, paused) = r.AfterCold.GcSince(r.BeforeCold);
        Line($"- Garbage collection during the cold pass (the server's own figures, read before the route's forced collections): {collections[0]:N0} gen0, {collections[1]:N0} gen1, {collections[2]:N0} gen2 collections (each count includes the higher generations'), **{paused:N0} ms** paused in all, {paused / 10 / Math.Max(r.Cold.Seconds, 0.001):F1} % of the pass's {r.Cold.Seconds:F1} s.");
        Line($"- Activations by grain type with all tenants active: {string.Join(", ", r.AfterCold.ActivationsByType.OrderByDescending(t => t.Value).Take(8).Select(t => F($"{ShortType(t.Key)} {t.Value:N0}")))}.");
        Line($"- Idle cost of active tenants (nobody sending): server {r.IdleBefore.ServerPercent:F1} % → **{r.IdleActive.ServerPercent:F1} %** of a core, PostgreSQL {r.IdleBefore.PostgresPercent:F1} % → **{r.IdleActive.PostgresPercent:F1} %** (before the cold pass → with all {r.Tenants:N0} tenants active; each `TenantGrain` writes its usage every `Shohayota:Metering:FlushInterval`, 5 s, while active).");
        foreach (var big in r.BigTenants)
        {
            Line($"- First request of a {big.Customers:N0}-customer tenant (its `TenantGrain` activation counts and sizes all its customers): **{big.FirstMs:F1} ms** (HTTP {big.FirstStatus}); the second {big.SecondMs:F1} ms (HTTP {big.SecondStatus}).");
        }
    }

    private static (double HeapBytes, double RssBytes, long Tenants) PerTenant(TenantScaleResult r)
    {
        var tenants = TenantGrains(r.AfterCold) - TenantGrains(r.BeforeCold);
        if (tenants <= 0)
        {
            tenants = r.Cold.Requests;
        }

        return ((double)(r.AfterCold.GcHeapBytes - r.BeforeCold.GcHeapBytes) / tenants, (double)(r.AfterCold.WorkingSetBytes - r.BeforeCold.WorkingSetBytes) / tenants, tenants);
    }

    private static long TenantGrains(MemorySample m) =>
        m.ActivationsByType.Where(t => ShortType(t.Key) == "TenantGrain").Sum(t => t.Value);

    private static string ShortType(string type)
    {
        var name = type.Split(',')[0];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("N1", CultureInfo.InvariantCulture);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Mark(bool met) => met ? "✓" : "✗";
}
