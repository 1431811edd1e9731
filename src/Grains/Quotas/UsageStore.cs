using System.Globalization;
using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Grains.Quotas;

/// <summary>What a tenant's meter starts from: counts derived from committed rows, and the state it wrote behind.</summary>
internal sealed record StoredUsage(
    long Customers, long Users, long StorageBytes, long ApiCallsMonth, IReadOnlyList<QuotaOverride> Overrides,
    IReadOnlyDictionary<Guid, DateTimeOffset> LastSeen, IReadOnlyList<Alert> OpenAlerts);

/// <summary>One day's counters not yet written.</summary>
internal readonly record struct DayCounters(DateOnly Day, long ApiCalls, long Requests4xx, long Requests5xx);

/// <summary>One write-behind of a tenant's meter: pending day counters, the gauges, last-seen times and alert changes.</summary>
internal sealed record UsageFlush(
    DateTimeOffset Now,
    IReadOnlyList<DayCounters> Days,
    long Customers,
    long Users,
    long StorageBytes,
    long ActiveUsers,
    double? LatencyP95Ms,
    IReadOnlyList<KeyValuePair<Guid, DateTimeOffset>> Seen,
    IReadOnlyList<(Alert Alert, AlertChange Change)> Alerts,
    DateOnly? PruneDaysBefore);

/// <summary>The SQL of a tenant's meter: reading its starting state, writing behind, and reading its daily history.</summary>
internal sealed class UsageStore(Guid tenantId, TenantDatabase database)
{
    // The bytes a stored record costs besides its text: keep in step with TenantMeter.UserBytes.
    private const int RecordOverhead = TenantMeter.RecordOverhead;

    public Task<StoredUsage> LoadAsync(DateOnly month, DateTimeOffset seenSince, string? tenantName, CancellationToken cancellationToken) =>
        // One round trip and one snapshot for the four reads (a cold tenant's first request waits for them).
        database.ReadAsync(tenantId, LoadStatements(month, seenSince), reader => ReadLoadedAsync(reader, tenantId, tenantName, cancellationToken),
            cancellationToken: cancellationToken);

    /// <summary>The four reads of a meter's starting state, for a batch of their own or the tail of a TenantGrain's activation.</summary>
    public static NpgsqlBatchCommand[] LoadStatements(DateOnly month, DateTimeOffset seenSince) =>
        [
            TenantDatabase.Statement(
                $"""
                SELECT (SELECT count(*) FROM customers),
                       {TenantMeter.RecordBytesSql()},
                       (SELECT count(*) FROM users),
                       (SELECT coalesce(sum({RecordOverhead} + octet_length(email) + octet_length(name)), 0) FROM users),
                       (SELECT coalesce(sum(api_calls), 0) FROM tenant_usage_metrics WHERE period = 'month' AND period_start = $1)
                """,
                month),
            TenantDatabase.Statement("SELECT quota, value, expires_at, reason FROM tenant_quota_overrides"),
            TenantDatabase.Statement("SELECT id, last_seen_at FROM users WHERE last_seen_at > $1", seenSince),
            TenantDatabase.Statement("SELECT id, metric, level, value, threshold, since, message FROM tenant_alerts WHERE cleared_at IS NULL"),
        ];

    /// <summary>Reads the results of <see cref="LoadStatements"/>; the reader is on the first of them.</summary>
    public static async Task<StoredUsage> ReadLoadedAsync(NpgsqlDataReader reader, Guid tenantId, string? tenantName, CancellationToken cancellationToken)
    {
        await reader.ReadAsync(cancellationToken);
        var customers = reader.GetInt64(0);
        var storage = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture) + Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture);
        var users = reader.GetInt64(2);
        var apiCalls = reader.GetInt64(4);
        var overrides = new List<QuotaOverride>();
        var lastSeen = new Dictionary<Guid, DateTimeOffset>();
        var alerts = new List<Alert>();

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            overrides.Add(new QuotaOverride(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            lastSeen[reader.GetGuid(0)] = reader.GetFieldValue<DateTimeOffset>(1);
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            alerts.Add(new Alert(reader.GetGuid(0), tenantId, tenantName, reader.GetString(1), reader.GetString(2), reader.GetDouble(3),
                reader.GetDouble(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6), null));
        }

        return new StoredUsage(customers, users, storage, apiCalls, overrides, lastSeen, alerts);
    }

    /// <summary>
    /// Writes one flush in one transaction, grouped with other tenants' flushes of this node that are waiting at the same
    /// time (<see cref="TenantDatabase.WriteGroupedAsync"/>): all of it lands, or none (and the caller keeps it pending).
    /// </summary>
    public Task WriteAsync(UsageFlush flush) => database.WriteGroupedAsync(tenantId, () => Statements(flush));

    private List<NpgsqlBatchCommand> Statements(UsageFlush flush)
    {
        var now = flush.Now;
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var statements = new List<NpgsqlBatchCommand>();
        foreach (var (day, apiCalls, requests4xx, requests5xx) in flush.Days)
        {
            statements.Add(TenantDatabase.Statement(
                """
                INSERT INTO tenant_usage_metrics AS m (tenant_id, period, period_start, api_calls, requests_4xx, requests_5xx,
                                                       customers, users, storage_bytes, active_users, latency_p95_ms, updated_at)
                VALUES ($1, 'day', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (tenant_id, period, period_start) DO UPDATE SET
                    api_calls = m.api_calls + excluded.api_calls, requests_4xx = m.requests_4xx + excluded.requests_4xx,
                    requests_5xx = m.requests_5xx + excluded.requests_5xx, customers = excluded.customers, users = excluded.users,
                    storage_bytes = excluded.storage_bytes, active_users = excluded.active_users,
                    latency_p95_ms = coalesce(excluded.latency_p95_ms, m.latency_p95_ms), updated_at = excluded.updated_at
                """,
                tenantId, day, apiCalls, requests4xx, requests5xx, flush.Customers, flush.Users, flush.StorageBytes, flush.ActiveUsers,
                day == today ? flush.LatencyP95Ms : null, now));
            statements.Add(TenantDatabase.Statement(
                """
                INSERT INTO tenant_usage_metrics AS m (tenant_id, period, period_start, api_calls, requests_4xx, requests_5xx,
                                                       customers, users, storage_bytes, updated_at)
                VALUES ($1, 'month', $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (tenant_id, period, period_start) DO UPDATE SET
                    api_calls = m.api_calls + excluded.api_calls, requests_4xx = m.requests_4xx + excluded.requests_4xx,
                    requests_5xx = m.requests_5xx + excluded.requests_5xx, customers = excluded.customers, users = excluded.users,
                    storage_bytes = excluded.storage_bytes, updated_at = excluded.updated_at
                """,
                tenantId, new DateOnly(day.Year, day.Month, 1), apiCalls, requests4xx, requests5xx,
                flush.Customers, flush.Users, flush.StorageBytes, now));
        }

        if (flush.Seen.Count > 0)
        {
            statements.Add(TenantDatabase.Statement(
                "UPDATE users SET last_seen_at = v.at FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at) WHERE users.id = v.id",
                flush.Seen.Select(s => s.Key).ToArray(), flush.Seen.Select(s => s.Value).ToArray()));
        }

        foreach (var (alert, change) in flush.Alerts)
        {
            statements.Add(TenantDatabase.Statement(change switch
            {
                AlertChange.Opened => """
                    INSERT INTO tenant_alerts (tenant_id, id, metric, level, value, threshold, since, updated_at, message)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    """,
                AlertChange.Updated => "UPDATE tenant_alerts SET level = $4, value = $5, threshold = $6, updated_at = $8, message = $9 WHERE tenant_id = $1 AND id = $2 AND metric = $3 AND since = $7",
                _ => "UPDATE tenant_alerts SET cleared_at = $8, value = $5, message = $9 WHERE tenant_id = $1 AND id = $2 AND metric = $3 AND level = $4 AND threshold = $6 AND since = $7",
            }, tenantId, alert.Id, alert.Metric, alert.Level, alert.Value, alert.Threshold, alert.Since, now, alert.Message));
        }

        if (flush.PruneDaysBefore is { } before)
        {
            statements.Add(TenantDatabase.Statement("DELETE FROM tenant_usage_metrics WHERE period = 'day' AND period_start < $1", before));
        }

        return statements;
    }

    public async Task<IReadOnlyList<UsageDay>> HistoryAsync(DateOnly from)
    {
        var history = new List<UsageDay>();
        await using var transaction = await database.BeginAsync(tenantId);
        await using var read = transaction.Command(
            """
            SELECT period_start, api_calls, requests_4xx, requests_5xx, customers, users, storage_bytes, active_users
            FROM tenant_usage_metrics WHERE period = 'day' AND period_start >= $1 ORDER BY period_start
            """,
            from);
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            history.Add(new UsageDay(reader.GetFieldValue<DateOnly>(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        return history;
    }
}
