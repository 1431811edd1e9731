using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Quotas;

/// <summary>
/// A tenant's quota book, rate limiter, usage meter and alerts, owned by its TenantGrain (so single-threaded).
/// Counts that quotas enforce are derived from committed rows when the grain activates; API calls, traffic and
/// last-seen times are kept in memory and written behind every <see cref="MeteringOptions.FlushInterval"/>.
/// </summary>
internal sealed class TenantMeter(
    Guid tenantId,
    TenantDatabase database,
    TimeProvider time,
    PlansOptions plans,
    MeteringOptions metering,
    ILogger logger)
{
    // The bytes a stored record costs besides its text: keep in step with the SQL in LoadAsync.
    public const int RecordOverhead = 100;

    private readonly Dictionary<string, QuotaOverride> _overrides = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, (QuotaDelta Delta, DateTimeOffset Expires)> _reservations = [];
    private readonly Dictionary<DateOnly, PendingDay> _pending = [];
    private readonly TrafficWindow _traffic = new();
    private readonly Dictionary<Guid, DateTimeOffset> _lastSeen = [];
    private readonly Dictionary<Guid, DateTimeOffset> _seenDirty = [];
    private readonly Dictionary<string, Alert> _alerts = new(StringComparer.Ordinal);
    private string _plan = "free";
    private string? _tenantName;
    private long _customers;
    private long _users;
    private long _storage;
    private DateOnly _month;
    private long _apiCallsMonth;
    private TokenBucket? _bucket;
    private DateOnly _prunedHistory;

    public long Customers => _customers;

    public long Users => _users;

    public long StorageBytes => _storage;

    public static long CustomerBytes(string name, string? email, string? phone, string? company, IEnumerable<string> tags, string? notes) =>
        RecordOverhead + Utf8(name) + Utf8(email) + Utf8(phone) + Utf8(company) + tags.Sum(Utf8) + Utf8(notes);

    public static long UserBytes(string email, string name) => RecordOverhead + Utf8(email) + Utf8(name);

    private static long Utf8(string? text) => text is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(text);

    public async Task LoadAsync(TenantDetails tenant, CancellationToken cancellationToken)
    {
        _plan = tenant.Plan;
        _tenantName = tenant.Name;
        var now = time.GetUtcNow();
        _month = MonthOf(now);
        await using var transaction = await database.BeginAsync(tenantId, cancellationToken);
        await using (var counts = transaction.Command(
            $"""
            SELECT (SELECT count(*) FROM customers),
                   (SELECT coalesce(sum({RecordOverhead} + octet_length(name) + coalesce(octet_length(email), 0) + coalesce(octet_length(phone), 0)
                        + coalesce(octet_length(company), 0) + coalesce(octet_length(notes), 0)
                        + coalesce((SELECT sum(octet_length(t)) FROM unnest(tags) t), 0)), 0) FROM customers),
                   (SELECT count(*) FROM users),
                   (SELECT coalesce(sum({RecordOverhead} + octet_length(email) + octet_length(name)), 0) FROM users),
                   (SELECT coalesce(sum(api_calls), 0) FROM tenant_usage_metrics WHERE period = 'month' AND period_start = $1)
            """,
            _month))
        await using (var reader = await counts.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            _customers = reader.GetInt64(0);
            _storage = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture) + Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture);
            _users = reader.GetInt64(2);
            _apiCallsMonth = reader.GetInt64(4);
        }

        await using (var overrides = transaction.Command("SELECT quota, value, expires_at, reason FROM tenant_quota_overrides"))
        await using (var reader = await overrides.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var o = new QuotaOverride(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3));
                _overrides[o.Quota] = o;
            }
        }

        await using (var seen = transaction.Command("SELECT id, last_seen_at FROM users WHERE last_seen_at > $1", now.AddDays(-30)))
        await using (var reader = await seen.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                _lastSeen[reader.GetGuid(0)] = reader.GetFieldValue<DateTimeOffset>(1);
            }
        }

        await using (var alerts = transaction.Command("SELECT id, metric, level, value, threshold, since, message FROM tenant_alerts WHERE cleared_at IS NULL"))
        await using (var reader = await alerts.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var alert = new Alert(reader.GetGuid(0), tenantId, _tenantName, reader.GetString(1), reader.GetString(2), reader.GetDouble(3),
                    reader.GetDouble(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6), null);
                _alerts[alert.Metric] = alert;
            }
        }

        ConfigureBucket();
    }

    public void PlanChanged(string plan)
    {
        _plan = plan;
        ConfigureBucket();
    }

    public void Renamed(string name) => _tenantName = name;

    /// <summary>The hot path: rate limit, monthly API calls, last seen. No I/O.</summary>
    public Admission Admit(Guid userId)
    {
        var now = time.GetUtcNow();
        if (!_bucket!.TryTake(time.GetTimestamp(), time.TimestampFrequency, out var retryAfter))
        {
            return new Admission(false, Interfaces.Common.Failure.RateLimited,
                $"Too many requests for this tenant: at most {_bucket.Rate:0.##} per second (burst {_bucket.Burst:0.##}).", Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds)));
        }

        RollMonth(now);
        var limit = Limit(QuotaNames.ApiCallsMonthly, now);
        if (_apiCallsMonth >= limit)
        {
            return new Admission(false, Interfaces.Common.Failure.QuotaExceeded,
                $"The monthly API-call quota is exhausted: {_apiCallsMonth} of {limit} used; it resets at {NextMonth(now):O}.", 0,
                QuotaNames.ApiCallsMonthly, limit, _apiCallsMonth);
        }

        _apiCallsMonth++;
        Pending(now).ApiCalls++;
        if (!_lastSeen.TryGetValue(userId, out var seen) || now - seen > TimeSpan.FromMinutes(1))
        {
            _lastSeen[userId] = now;
            _seenDirty[userId] = now;
        }

        return Admission.Granted;
    }

    public Reservation Reserve(QuotaDelta delta)
    {
        var now = time.GetUtcNow();
        foreach (var expired in _reservations.Where(r => r.Value.Expires <= now).Select(r => r.Key).ToList())
        {
            _reservations.Remove(expired);
        }

        var held = _reservations.Values.Aggregate(new QuotaDelta(0, 0, 0), (sum, r) => Add(sum, r.Delta));
        foreach (var (quota, used, reserved, asked) in new[]
                 {
                     (QuotaNames.Customers, _customers, held.Customers, delta.Customers),
                     (QuotaNames.Users, _users, held.Users, delta.Users),
                     (QuotaNames.StorageBytes, _storage, held.StorageBytes, delta.StorageBytes),
                 })
        {
            var limit = Limit(quota, now);
            if (asked > 0 && used + reserved + asked > limit)
            {
                // "Used" includes writes in flight: that is what the room is taken by.
                return new Reservation(Guid.Empty, false, quota, limit, used + reserved);
            }
        }

        var id = Guid.NewGuid();
        _reservations[id] = (delta, now.AddMinutes(1));
        return new Reservation(id, true, null, 0, 0);
    }

    public void Settle(Guid id, bool committed)
    {
        if (_reservations.Remove(id, out var reservation) && committed)
        {
            Apply(reservation.Delta);
        }
    }

    public void Apply(QuotaDelta delta)
    {
        _customers = Math.Max(0, _customers + delta.Customers);
        _users = Math.Max(0, _users + delta.Users);
        _storage = Math.Max(0, _storage + delta.StorageBytes);
    }

    public void Record(TrafficSample sample)
    {
        var now = time.GetUtcNow();
        _traffic.Add(now, sample.Requests, sample.ClientErrors, sample.ServerErrors, sample.LatencyBuckets);
        var day = Pending(now);
        day.Requests4xx += sample.ClientErrors;
        day.Requests5xx += sample.ServerErrors;
    }

    public QuotaReport Report()
    {
        var now = time.GetUtcNow();
        RollMonth(now);
        var quotas = new Dictionary<string, QuotaUsage>(StringComparer.Ordinal)
        {
            [QuotaNames.Users] = Usage(QuotaNames.Users, _users, now, null),
            [QuotaNames.Customers] = Usage(QuotaNames.Customers, _customers, now, null),
            [QuotaNames.ApiCallsMonthly] = Usage(QuotaNames.ApiCallsMonthly, _apiCallsMonth, now, NextMonth(now)),
            [QuotaNames.StorageBytes] = Usage(QuotaNames.StorageBytes, _storage, now, null),
        };
        return new QuotaReport(_plan, quotas, new RateLimit(_bucket!.Rate, _bucket.Burst),
            _overrides.Values.Where(o => o.ExpiresAt is null || o.ExpiresAt > now).OrderBy(o => o.Quota, StringComparer.Ordinal).ToList());
    }

    public UsageReport Usage(IReadOnlyList<UsageDay> history)
    {
        var now = time.GetUtcNow();
        var five = _traffic.Sum(now, 5);
        var hour = _traffic.Sum(now, 60);
        return new UsageReport(
            _apiCallsMonth,
            _lastSeen.Values.Count(s => s > now.AddHours(-24)),
            _lastSeen.Values.Count(s => s > now.AddDays(-30)),
            _customers,
            _users,
            _storage,
            Rates(five.Requests, five.ClientErrors, five.ServerErrors),
            Rates(hour.Requests, hour.ClientErrors, hour.ServerErrors),
            new Latency(five.Latency.Sum(), LatencyHistogram.Quantile(five.Latency, 0.5), LatencyHistogram.Quantile(five.Latency, 0.95),
                LatencyHistogram.Quantile(five.Latency, 0.99)),
            history);
    }

    public IReadOnlyList<Alert> Alerts => _alerts.Values.OrderBy(a => a.Since).ToList();

    public async Task<IReadOnlyList<UsageDay>> HistoryAsync()
    {
        var history = new List<UsageDay>();
        await using var transaction = await database.BeginAsync(tenantId);
        await using var read = transaction.Command(
            """
            SELECT period_start, api_calls, requests_4xx, requests_5xx, customers, users, storage_bytes, active_users
            FROM tenant_usage_metrics WHERE period = 'day' AND period_start >= $1 ORDER BY period_start
            """,
            DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(-metering.HistoryDays));
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            history.Add(new UsageDay(reader.GetFieldValue<DateOnly>(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        return history;
    }

    public QuotaOverride? Override(string quota) => _overrides.GetValueOrDefault(quota);

    public void SetOverride(string quota, QuotaOverride? value)
    {
        if (value is null)
        {
            _overrides.Remove(quota);
        }
        else
        {
            _overrides[quota] = value;
        }

        ConfigureBucket();
    }

    /// <summary>Writes pending counters, last-seen times and alert changes (one transaction); the loss window on a crash.</summary>
    public async Task FlushAsync()
    {
        var now = time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        var alertChanges = EvaluateAlerts(now);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var pending = _pending.ToList();
        var seen = _seenDirty.ToList();
        await using (var transaction = await database.BeginAsync(tenantId))
        {
            var five = _traffic.Sum(now, 5);
            var p95 = LatencyHistogram.Quantile(five.Latency, 0.95);
            var active = _lastSeen.Values.Count(s => s > now.AddHours(-24));
            if (!pending.Any(p => p.Key == today))
            {
                pending.Add(new KeyValuePair<DateOnly, PendingDay>(today, new PendingDay()));
            }

            foreach (var (day, counters) in pending)
            {
                await transaction.ExecuteAsync(
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
                    tenantId, day, counters.ApiCalls, counters.Requests4xx, counters.Requests5xx, _customers, _users, _storage, (long)active,
                    day == today ? p95 : null, now);
                await transaction.ExecuteAsync(
                    """
                    INSERT INTO tenant_usage_metrics AS m (tenant_id, period, period_start, api_calls, requests_4xx, requests_5xx,
                                                           customers, users, storage_bytes, updated_at)
                    VALUES ($1, 'month', $2, $3, $4, $5, $6, $7, $8, $9)
                    ON CONFLICT (tenant_id, period, period_start) DO UPDATE SET
                        api_calls = m.api_calls + excluded.api_calls, requests_4xx = m.requests_4xx + excluded.requests_4xx,
                        requests_5xx = m.requests_5xx + excluded.requests_5xx, customers = excluded.customers, users = excluded.users,
                        storage_bytes = excluded.storage_bytes, updated_at = excluded.updated_at
                    """,
                    tenantId, new DateOnly(day.Year, day.Month, 1), counters.ApiCalls, counters.Requests4xx, counters.Requests5xx,
                    _customers, _users, _storage, now);
            }

            if (seen.Count > 0)
            {
                await transaction.ExecuteAsync(
                    "UPDATE users SET last_seen_at = v.at FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at) WHERE users.id = v.id",
                    seen.Select(s => s.Key).ToArray(), seen.Select(s => s.Value).ToArray());
            }

            foreach (var (alert, change) in alertChanges)
            {
                await transaction.ExecuteAsync(change switch
                {
                    AlertChange.Opened => """
                        INSERT INTO tenant_alerts (tenant_id, id, metric, level, value, threshold, since, updated_at, message)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                        """,
                    AlertChange.Updated => "UPDATE tenant_alerts SET level = $4, value = $5, threshold = $6, updated_at = $8, message = $9 WHERE tenant_id = $1 AND id = $2 AND metric = $3 AND since = $7",
                    _ => "UPDATE tenant_alerts SET cleared_at = $8, value = $5, message = $9 WHERE tenant_id = $1 AND id = $2 AND metric = $3 AND level = $4 AND threshold = $6 AND since = $7",
                }, tenantId, alert.Id, alert.Metric, alert.Level, alert.Value, alert.Threshold, alert.Since, now, alert.Message);
            }

            if (_prunedHistory != today)
            {
                await transaction.ExecuteAsync("DELETE FROM tenant_usage_metrics WHERE period = 'day' AND period_start < $1", today.AddDays(-metering.HistoryDays));
            }

            await transaction.CommitAsync();
        }

        _prunedHistory = today;
        foreach (var (day, counters) in pending)
        {
            if (_pending.TryGetValue(day, out var current) && ReferenceEquals(current, counters))
            {
                _pending.Remove(day);
            }
        }

        foreach (var (user, at) in seen)
        {
            if (_seenDirty.TryGetValue(user, out var current) && current == at)
            {
                _seenDirty.Remove(user);
            }
        }

        logger.LogTrace("Flushed usage of tenant {TenantId} in {Elapsed}", tenantId, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Sets this month's API-call counter to zero (after a flush, so nothing pending is lost).</summary>
    public void ResetApiCalls() => _apiCallsMonth = 0;

    private List<(Alert Alert, AlertChange Change)> EvaluateAlerts(DateTimeOffset now)
    {
        var changes = new List<(Alert, AlertChange)>();
        void Evaluate(string metric, double? value, double warning, double critical, string unit, DateTimeOffset? projected = null)
        {
            var level = value is null ? null : value >= critical ? "critical" : value >= warning ? "warning" : null;
            _alerts.TryGetValue(metric, out var open);
            if (level is null)
            {
                if (open is not null)
                {
                    _alerts.Remove(metric);
                    changes.Add((open with { Value = value ?? open.Value, Message = $"Cleared: {Describe(metric)} back to {Format(value, unit)}." }, AlertChange.Cleared));
                }

                return;
            }

            var threshold = level == "critical" ? critical : warning;
            var message = $"{Describe(metric)} is {Format(value, unit)} (≥ {Format(threshold, unit)}, {level})" +
                (projected is { } date ? $"; at the current pace the quota runs out on {date:yyyy-MM-dd}." : ".");
            if (open is null)
            {
                var alert = new Alert(Guid.NewGuid(), tenantId, _tenantName, metric, level, value!.Value, threshold, now, message, projected);
                _alerts[metric] = alert;
                changes.Add((alert, AlertChange.Opened));
            }
            else if (open.Level != level || Math.Abs(open.Value - value!.Value) > 0.01)
            {
                var updated = open with { Level = level, Value = value!.Value, Threshold = threshold, Message = message, ProjectedExhaustion = projected, TenantName = _tenantName };
                _alerts[metric] = updated;
                changes.Add((updated, AlertChange.Updated));
            }
        }

        foreach (var quota in QuotaNames.Counted)
        {
            var used = quota switch
            {
                QuotaNames.Users => _users,
                QuotaNames.Customers => _customers,
                QuotaNames.StorageBytes => _storage,
                _ => _apiCallsMonth,
            };
            var limit = Limit(quota, now);
            double? percent = limit <= 0 ? (used > 0 ? 100 : null) : Math.Round(used * 100.0 / limit, 2);
            Evaluate(quota, percent, metering.QuotaWarningPercent, metering.QuotaCriticalPercent, "%",
                quota == QuotaNames.ApiCallsMonthly ? Projection(used, limit, now) : null);
        }

        var five = _traffic.Sum(now, 5);
        Evaluate("errorRate", five.Requests >= metering.MinimumSample ? Math.Round(five.ServerErrors * 100.0 / five.Requests, 2) : null,
            metering.ErrorRateWarningPercent, metering.ErrorRateCriticalPercent, "%");
        Evaluate("latencyP95", five.Requests >= metering.MinimumSample ? LatencyHistogram.Quantile(five.Latency, 0.95) : null,
            metering.LatencyWarningMs, metering.LatencyCriticalMs, " ms");
        return changes;
    }

    private DateTimeOffset? Projection(long used, long limit, DateTimeOffset now)
    {
        var monthStart = new DateTimeOffset(_month.Year, _month.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var elapsed = (now - monthStart).TotalSeconds;
        if (used <= 0 || elapsed <= 0)
        {
            return null;
        }

        var perSecond = used / elapsed;
        var remaining = (limit - used) / perSecond;
        // Beyond a year the pace says nothing useful.
        return used >= limit ? now : remaining > TimeSpan.FromDays(366).TotalSeconds ? null : now.AddSeconds(remaining);
    }

    private static string Describe(string metric) => metric switch
    {
        QuotaNames.ApiCallsMonthly => "Monthly API calls",
        QuotaNames.StorageBytes => "Storage",
        QuotaNames.Users => "Users",
        QuotaNames.Customers => "Customers",
        "errorRate" => "The 5xx error rate (5 min)",
        _ => "The p95 response time (5 min)",
    };

    private static string Format(double? value, string unit) =>
        value is null ? "n/a" : value.Value.ToString("0.##", CultureInfo.InvariantCulture) + unit;

    private static ErrorRates Rates(long requests, long client, long server) =>
        new(requests, requests == 0 ? 0 : Math.Round(server * 100.0 / requests, 3), requests == 0 ? 0 : Math.Round(client * 100.0 / requests, 3));

    private QuotaUsage Usage(string quota, long used, DateTimeOffset now, DateTimeOffset? resetsAt)
    {
        var limit = Limit(quota, now);
        return new QuotaUsage(limit, used, limit <= 0 ? 100 : Math.Round(used * 100.0 / limit, 2), resetsAt);
    }

    public long Limit(string quota, DateTimeOffset now)
    {
        if (_overrides.TryGetValue(quota, out var o) && (o.ExpiresAt is null || o.ExpiresAt > now))
        {
            return o.Value;
        }

        var plan = plans.GetValueOrDefault(_plan) ?? new PlanLimits();
        return quota switch
        {
            QuotaNames.Users => plan.Users,
            QuotaNames.Customers => plan.Customers,
            QuotaNames.ApiCallsMonthly => plan.ApiCallsMonthly,
            QuotaNames.StorageBytes => plan.StorageBytes,
            _ => (long)plan.RateLimitPerSecond,
        };
    }

    private void ConfigureBucket()
    {
        var now = time.GetUtcNow();
        var plan = plans.GetValueOrDefault(_plan) ?? new PlanLimits();
        double rate = plan.RateLimitPerSecond, burst = plan.RateLimitBurst;
        if (_overrides.TryGetValue(QuotaNames.RateLimitPerSecond, out var o) && (o.ExpiresAt is null || o.ExpiresAt > now))
        {
            rate = o.Value;
            burst = Math.Max(1, o.Value * (plan.RateLimitPerSecond > 0 ? plan.RateLimitBurst / plan.RateLimitPerSecond : 2));
        }

        if (_bucket is null)
        {
            _bucket = new TokenBucket(rate, burst, time.GetTimestamp());
        }
        else
        {
            _bucket.Reconfigure(rate, burst);
        }
    }

    /// <summary>Re-applies expiring overrides (the rate limit is cached in the bucket).</summary>
    public void Tick() => ConfigureBucket();

    private void RollMonth(DateTimeOffset now)
    {
        var month = MonthOf(now);
        if (month != _month)
        {
            _month = month;
            _apiCallsMonth = 0;
        }
    }

    private PendingDay Pending(DateTimeOffset now)
    {
        var day = DateOnly.FromDateTime(now.UtcDateTime);
        if (!_pending.TryGetValue(day, out var pending))
        {
            _pending[day] = pending = new PendingDay();
        }

        return pending;
    }

    private static DateOnly MonthOf(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month, 1);

    private static DateTimeOffset NextMonth(DateTimeOffset at) =>
        new DateTimeOffset(at.UtcDateTime.Year, at.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);

    private static QuotaDelta Add(QuotaDelta a, QuotaDelta b) => new(a.Customers + b.Customers, a.Users + b.Users, a.StorageBytes + b.StorageBytes);

    private enum AlertChange
    {
        Opened,
        Updated,
        Cleared,
    }

    private sealed class PendingDay
    {
        public long ApiCalls { get; set; }

        public long Requests4xx { get; set; }

        public long Requests5xx { get; set; }
    }
}
