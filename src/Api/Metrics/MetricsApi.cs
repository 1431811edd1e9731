using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Shohayota.Api.Auth;
using Shohayota.Api.Hosting;
using Shohayota.Api.Quotas;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Quotas;

namespace Shohayota.Api.Metrics;

/// <summary>System-wide metrics and alerts for operators, and the Prometheus scrape at /metrics (<see cref="NodeMetrics"/>).</summary>
public static class MetricsApi
{
    private static readonly string[] Sortable =
        ["apiCallsMonth", "apiCallsToday", "requests4xx", "requests5xx", "errorRate", "customers", "users", "storageBytes", "activeUsers", "latencyP95Ms", "name"];

    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin").WithTags("Admin: metrics").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        admin.MapGet("/metrics", GetMetricsAsync)
            .WithDescription("System-wide figures for operators (super-admin): tenants by status, API calls this month and today, this " +
                "node's requests over 5 minutes (error rates, p50/p95/p99 latency), this role's database connections, this node's " +
                "CPU, memory, GC and thread pool, and `perTenant`: every tenant's usage, sortable with `sort` (any column) and " +
                "`order=asc|desc`. An unknown sort or order is a 400 naming the field. Prometheus figures are at `/metrics`.");
        admin.MapGet("/alerts", GetAlertsAsync)
            .WithDescription("Every open alert (super-admin): tenants' quota alerts (80 % warning, 95 % critical) and this node's own " +
                "(5xx rate, p95 latency, a sign-in flood), critical first, newest first. Filter with `level=warning|critical` and " +
                "`tenantId` (a tenant's id, or `system` for the node's own).");
        routes.MapShohayotaMetrics();
        return routes;
    }

    public sealed record TenantRow(
        Guid Id, string Name, string Status, string Plan, long ApiCallsMonth, long ApiCallsToday, long Requests4xx, long Requests5xx,
        long Customers, long Users, long StorageBytes, long ActiveUsers, double? LatencyP95Ms)
    {
        public double ErrorRate => ApiCallsToday == 0 ? 0 : Math.Round(Requests5xx * 100.0 / Math.Max(ApiCallsToday, Requests4xx + Requests5xx), 3);
    }

    internal static async Task<List<TenantRow>> TenantRowsAsync(NpgsqlDataSource db, TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var command = db.CreateCommand(
            """
            SELECT u.tenant_id, t.name, t.status, t.plan, u.api_calls_month, u.api_calls_today, u.requests_4xx, u.requests_5xx,
                   u.customers, u.users, u.storage_bytes, u.active_users, u.latency_p95_ms
            FROM admin_usage($1, $2) u JOIN tenants t ON t.id = u.tenant_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = new DateOnly(now.Year, now.Month, 1) });
        command.Parameters.Add(new NpgsqlParameter { Value = DateOnly.FromDateTime(now) });
        var rows = new List<TenantRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new TenantRow(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5),
                reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11),
                reader.IsDBNull(12) ? null : reader.GetDouble(12)));
        }

        return rows;
    }

    internal static async Task<(long Active, long Idle, long Total)> ConnectionsAsync(NpgsqlDataSource db)
    {
        await using var command = db.CreateCommand(
            """
            SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE state LIKE 'idle%'), count(*)
            FROM pg_stat_activity WHERE usename = current_user AND datname = current_database()
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    public sealed record GcCollections(int Gen0, int Gen1, int Gen2);

    public sealed record ThreadPoolState(int Threads, long PendingWorkItems);

    public sealed record NodeResponse(
        string Name, int ProcessorCount, double CpuSeconds, double CpuPercentSinceStart, long WorkingSetBytes, long GcHeapBytes,
        GcCollections GcCollections, ThreadPoolState ThreadPool, long UptimeSeconds);

    private static NodeResponse NodeResources()
    {
        var process = Process.GetCurrentProcess();
        return new NodeResponse(
            Environment.MachineName,
            Environment.ProcessorCount,
            Math.Round(process.TotalProcessorTime.TotalSeconds, 2),
            Math.Round(process.TotalProcessorTime.TotalSeconds * 100 / Math.Max(1, (DateTime.Now - process.StartTime).TotalSeconds) / Environment.ProcessorCount, 2),
            process.WorkingSet64,
            GC.GetTotalMemory(false),
            new GcCollections(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)),
            new ThreadPoolState(ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount),
            (long)(DateTime.Now - process.StartTime).TotalSeconds);
    }

    public sealed record TenantCounts(int Total, IReadOnlyDictionary<string, long> ByStatus);

    public sealed record ApiCallTotals(long ThisMonth, long Today);

    public sealed record LatencyQuantiles(double? P50, double? P95, double? P99);

    public sealed record RequestTotals(string Scope, long Total, double ServerErrorPercent, double ClientErrorPercent, LatencyQuantiles LatencyMs);

    public sealed record ConnectionCounts(long Active, long Idle, long Total);

    public sealed record DatabaseResponse(ConnectionCounts Connections);

    public sealed record TenantMetrics(
        Guid TenantId, string Name, string Status, string Plan, long ApiCallsMonth, long ApiCallsToday, long Requests4xx, long Requests5xx,
        double ErrorRate, long Customers, long Users, long StorageBytes, long ActiveUsers, double? LatencyP95Ms);

    public sealed record MetricsResponse(
        TenantCounts Tenants, ApiCallTotals ApiCalls, RequestTotals Requests, DatabaseResponse Database, NodeResponse Node, IEnumerable<TenantMetrics> PerTenant);

    private static async Task<Results<Ok<MetricsResponse>, Errors.FieldProblem>> GetMetricsAsync(
        HttpContext http, NpgsqlDataSource db, TrafficAggregator traffic, TimeProvider time, string? sort, string? order)
    {
        if (sort is not null && !Sortable.Contains(sort) || order is not null and not ("asc" or "desc"))
        {
            return new Errors.FieldErrors()
                .Check("sort", sort is null || Sortable.Contains(sort) ? null : $"sort must be one of: {string.Join(", ", Sortable)}.")
                .Check("order", order is null or "asc" or "desc" ? null : "order must be asc or desc.")
                .ToProblem();
        }

        var rows = await TenantRowsAsync(db, time);
        var byStatus = await TenantsByStatusAsync(db);
        var window = traffic.Window(time.GetUtcNow(), 5);
        var connections = await ConnectionsAsync(db);
        Func<TenantRow, object?> key = sort switch
        {
            "apiCallsToday" => r => r.ApiCallsToday,
            "requests4xx" => r => r.Requests4xx,
            "requests5xx" => r => r.Requests5xx,
            "errorRate" => r => r.ErrorRate,
            "customers" => r => r.Customers,
            "users" => r => r.Users,
            "storageBytes" => r => r.StorageBytes,
            "activeUsers" => r => r.ActiveUsers,
            "latencyP95Ms" => r => r.LatencyP95Ms ?? -1,
            "name" => r => r.Name,
            _ => r => r.ApiCallsMonth,
        };
        var sorted = (order ?? (sort == "name" ? "asc" : "desc")) == "asc" ? rows.OrderBy(key) : rows.OrderByDescending(key);
        return TypedResults.Ok(new MetricsResponse(
            new TenantCounts(rows.Count, byStatus),
            new ApiCallTotals(rows.Sum(r => r.ApiCallsMonth), rows.Sum(r => r.ApiCallsToday)),
            new RequestTotals(
                "this node, last 5 minutes",
                window.Requests,
                window.Requests == 0 ? 0 : Math.Round(window.ServerErrors * 100.0 / window.Requests, 3),
                window.Requests == 0 ? 0 : Math.Round(window.ClientErrors * 100.0 / window.Requests, 3),
                new LatencyQuantiles(
                    LatencyHistogram.Quantile(window.Latency, 0.5), LatencyHistogram.Quantile(window.Latency, 0.95), LatencyHistogram.Quantile(window.Latency, 0.99))),
            new DatabaseResponse(new ConnectionCounts(connections.Active, connections.Idle, connections.Total)),
            NodeResources(),
            sorted.Select(r => new TenantMetrics(
                r.Id, r.Name, r.Status, r.Plan, r.ApiCallsMonth, r.ApiCallsToday, r.Requests4xx, r.Requests5xx, r.ErrorRate, r.Customers, r.Users,
                r.StorageBytes, r.ActiveUsers, r.LatencyP95Ms))));
    }

    private static async Task<Results<Ok<QuotasApi.AlertList>, Errors.FieldProblem>> GetAlertsAsync(NpgsqlDataSource db, TrafficAggregator traffic, SignInMonitor signIns, TimeProvider time,
        Microsoft.Extensions.Options.IOptions<MeteringOptions> metering, string? level, string? tenantId)
    {
        if (level is not null and not ("warning" or "critical") || tenantId is not null && tenantId != "system" && !Guid.TryParse(tenantId, out _))
        {
            return new Errors.FieldErrors()
                .Check("level", level is null or "warning" or "critical" ? null : "level must be warning or critical.")
                .Check("tenantId", tenantId is null || tenantId == "system" || Guid.TryParse(tenantId, out _) ? null : "tenantId must be a tenant id or \"system\".")
                .ToProblem();
        }

        var alerts = await OpenAlertsAsync(db, traffic, signIns, time, metering.Value);
        var filtered = alerts
            .Where(a => level is null || a.Level == level)
            .Where(a => tenantId is null || (tenantId == "system" ? a.TenantId == GrainKeys.SystemTenant : a.TenantId == Guid.Parse(tenantId)))
            .OrderByDescending(a => a.Level == "critical").ThenByDescending(a => a.Since);
        return TypedResults.Ok(new QuotasApi.AlertList(filtered.Select(QuotasApi.ToResponse)));
    }

    internal static async Task<Dictionary<string, long>> TenantsByStatusAsync(NpgsqlDataSource db)
    {
        await using var statusCount = db.CreateCommand("SELECT status, count(*) FROM tenants GROUP BY status");
        var byStatus = new Dictionary<string, long> { ["active"] = 0, ["suspended"] = 0, ["canceled"] = 0, ["deleted"] = 0 };
        await using var reader = await statusCount.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            byStatus[reader.GetString(0)] = reader.GetInt64(1);
        }

        return byStatus;
    }

    /// <summary>Every tenant's open alerts and this node's own ones (the super-admin console shows the same list).</summary>
    internal static async Task<List<Alert>> OpenAlertsAsync(NpgsqlDataSource db, TrafficAggregator traffic, SignInMonitor signIns, TimeProvider time, MeteringOptions metering)
    {
        var alerts = new List<Alert>();
        await using (var command = db.CreateCommand(
            "SELECT a.id, a.tenant_id, t.name, a.metric, a.level, a.value, a.threshold, a.since, a.message FROM admin_open_alerts() a LEFT JOIN tenants t ON t.id = a.tenant_id"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                alerts.Add(new Alert(reader.GetGuid(0), reader.GetGuid(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3),
                    reader.GetString(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetFieldValue<DateTimeOffset>(7), reader.GetString(8), null));
            }
        }

        alerts.AddRange(SystemAlerts(traffic, time.GetUtcNow(), metering));
        if (SignInFailuresAlert(signIns, time.GetUtcNow(), metering) is { } signInAlert)
        {
            alerts.Add(signInAlert);
        }

        return alerts;
    }

    /// <summary>This node's own error rate and latency against the runbook thresholds (not persisted; they clear by themselves).</summary>
    private static IEnumerable<Alert> SystemAlerts(TrafficAggregator traffic, DateTimeOffset now, MeteringOptions m)
    {
        var window = traffic.Window(now, 5);
        if (window.Requests < m.MinimumSample)
        {
            yield break;
        }

        var errorRate = window.ServerErrors * 100.0 / window.Requests;
        if (errorRate >= m.ErrorRateWarningPercent)
        {
            var critical = errorRate >= m.ErrorRateCriticalPercent;
            yield return new Alert(Guid.Empty, GrainKeys.SystemTenant, "system", "errorRate", critical ? "critical" : "warning", Math.Round(errorRate, 2),
                critical ? m.ErrorRateCriticalPercent : m.ErrorRateWarningPercent, now, $"This node's 5xx rate over 5 minutes is {errorRate:0.##}%.", null);
        }

        if (LatencyHistogram.Quantile(window.Latency, 0.95) is { } p95 && p95 >= m.LatencyWarningMs)
        {
            var critical = p95 >= m.LatencyCriticalMs;
            yield return new Alert(Guid.Empty, GrainKeys.SystemTenant, "system", "latencyP95", critical ? "critical" : "warning", p95,
                critical ? m.LatencyCriticalMs : m.LatencyWarningMs, now, $"This node's p95 response time over 5 minutes is {p95:0.#} ms.", null);
        }
    }

    /// <summary>Failed, unknown-e-mail and throttled sign-ins on this node over 5 minutes (a sign-in flood); clears by itself.</summary>
    private static Alert? SignInFailuresAlert(SignInMonitor signIns, DateTimeOffset now, MeteringOptions m)
    {
        var failures = signIns.RecentFailures();
        if (failures < m.SignInFailuresWarning)
        {
            return null;
        }

        var critical = failures >= m.SignInFailuresCritical;
        return new Alert(Guid.Empty, GrainKeys.SystemTenant, "system", "signInFailures", critical ? "critical" : "warning", failures,
            critical ? m.SignInFailuresCritical : m.SignInFailuresWarning, now,
            $"This node saw {failures} sign-in failures (wrong password, unknown e-mail or throttled) over 5 minutes: a possible sign-in flood.", null);
    }
}
