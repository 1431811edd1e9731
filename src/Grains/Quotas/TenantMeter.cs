using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Quotas;

/// <summary>
/// A tenant's admission (rate limit, monthly API calls, last seen) and usage meter, owned by its TenantGrain (so
/// single-threaded). The counted quotas are in <see cref="QuotaBook"/>, the alert rules in <see cref="AlertRules"/>, the
/// SQL in <see cref="UsageStore"/>. Counts that quotas enforce are derived from committed rows when the grain activates;
/// API calls, traffic and last-seen times are kept in memory and written behind every <see cref="MeteringOptions.FlushInterval"/>.
/// </summary>
internal sealed class TenantMeter(
    Guid tenantId,
    TenantDatabase database,
    TimeProvider time,
    PlansOptions plans,
    MeteringOptions metering,
    ILogger logger)
{
    // The bytes a stored record costs besides its text: keep in step with the SQL in UsageStore.LoadAsync.
    public const int RecordOverhead = 100;

    private readonly QuotaBook _quotas = new(plans);
    private readonly AlertRules _alerts = new(tenantId, metering);
    private readonly UsageStore _store = new(tenantId, database);
    private readonly Dictionary<DateOnly, PendingDay> _pending = [];
    private readonly TrafficWindow _traffic = new();
    private readonly Dictionary<Guid, DateTimeOffset> _lastSeen = [];
    private readonly Dictionary<Guid, DateTimeOffset> _seenDirty = [];
    private DateOnly _month;
    private long _apiCallsMonth;
    private TokenBucket? _bucket;
    private DateOnly _prunedHistory;
    private (long Customers, long Users, long StorageBytes, long ActiveUsers, double? LatencyP95Ms)? _written;

    /// <summary>A customer's bytes: its texts, tags and custom field values (<see cref="CustomFieldRules.Bytes"/>).</summary>
    public static long CustomerBytes(string name, string? email, string? phone, string? company, IEnumerable<string> tags, string? notes,
        string customFields = CustomFieldRules.Empty) =>
        RecordOverhead + Utf8(name) + Utf8(email) + Utf8(phone) + Utf8(company) + tags.Sum(Utf8) + Utf8(notes) + CustomFieldRules.Bytes(customFields);

    /// <summary>A contact's bytes: its texts, tags and custom field values.</summary>
    public static long ContactBytes(string? firstName, string? lastName, string? email, string? phone, string? title, IEnumerable<string> tags, string? notes,
        string customFields = CustomFieldRules.Empty) =>
        RecordOverhead + Utf8(firstName) + Utf8(lastName) + Utf8(email) + Utf8(phone) + Utf8(title) + tags.Sum(Utf8) + Utf8(notes)
        + CustomFieldRules.Bytes(customFields);

    /// <summary>A deal's bytes: its name, currency, one id per linked contact and its custom field values.</summary>
    public static long DealBytes(string name, int contacts, string customFields = CustomFieldRules.Empty) =>
        RecordOverhead + Utf8(name) + 3 + 16L * contacts + CustomFieldRules.Bytes(customFields);

    /// <summary>An activity's bytes: its subject and body.</summary>
    public static long ActivityBytes(string subject, string? body) => RecordOverhead + Utf8(subject) + Utf8(body);

    /// <summary>
    /// The storage the tenant's records use, in SQL (the transaction's tenant, under row-level security): the same sums as
    /// <see cref="CustomerBytes"/>, <see cref="ContactBytes"/>, <see cref="DealBytes"/> and <see cref="ActivityBytes"/>, for a meter's start and a restore; <paramref name="tenant"/>
    /// names the parameter holding the tenant where row-level security does not apply (a restore), or is null.
    /// </summary>
    public static string RecordBytesSql(string? tenant = null)
    {
        // Every row's bytes in plain expressions, no subquery per row: a sub-select over unnest(tags) per row made a
        // 100,000-customer tenant's sum take 320-450 ms instead of 51 (the first request of a cold tenant waits for it).
        var where = tenant is null ? "" : $" WHERE tenant_id = {tenant}";
        return $"""
            (SELECT coalesce(sum({RecordOverhead} + octet_length(name) + coalesce(octet_length(email), 0) + coalesce(octet_length(phone), 0)
                 + coalesce(octet_length(company), 0) + coalesce(octet_length(notes), 0)
                 + {TagBytesSql} + {CustomFieldRules.BytesSql}), 0)::bigint FROM customers{where})
                + (SELECT coalesce(sum({RecordOverhead} + coalesce(octet_length(first_name), 0) + coalesce(octet_length(last_name), 0)
                 + coalesce(octet_length(email), 0) + coalesce(octet_length(phone), 0) + coalesce(octet_length(title), 0)
                 + coalesce(octet_length(notes), 0) + {TagBytesSql} + {CustomFieldRules.BytesSql}), 0)::bigint
                 FROM contacts{where})
                + (SELECT coalesce(sum({RecordOverhead} + octet_length(name) + 3 + {CustomFieldRules.BytesSql}), 0)::bigint FROM deals{where})
                + (SELECT 16 * count(*) FROM deal_contacts{where})
                + (SELECT coalesce(sum({RecordOverhead} + octet_length(subject) + coalesce(octet_length(body), 0)), 0)::bigint FROM activities{where})
            """;
    }

    /// <summary>
    /// A row's tag bytes in SQL: the UTF-8 bytes of its tags joined with nothing, which is the sum of each tag's
    /// (<c>array_to_string</c> skips NULL elements, as <c>sum</c> does), without a sub-select per row.
    /// </summary>
    private const string TagBytesSql = "coalesce(octet_length(array_to_string(tags, '')), 0)";

    public static long UserBytes(string email, string name) => RecordOverhead + Utf8(email) + Utf8(name);

    private static long Utf8(string? text) => text is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(text);

    public async Task LoadAsync(TenantDetails tenant, CancellationToken cancellationToken)
    {
        var (month, seenSince) = LoadWindow(time.GetUtcNow());
        Start(tenant, month, await _store.LoadAsync(month, seenSince, tenant.Name, cancellationToken));
    }

    /// <summary>The month and last-seen window a meter starting at <paramref name="now"/> reads (<see cref="UsageStore.LoadStatements"/>).</summary>
    public static (DateOnly Month, DateTimeOffset SeenSince) LoadWindow(DateTimeOffset now) => (MonthOf(now), now.AddDays(-30));

    /// <summary>Starts from usage read elsewhere (a TenantGrain's activation reads it in the same round trip as the tenant).</summary>
    public void Start(TenantDetails tenant, DateOnly month, StoredUsage stored)
    {
        _quotas.Plan = tenant.Plan;
        _alerts.TenantName = tenant.Name;
        _month = month;
        _quotas.Load(stored.Customers, stored.Users, stored.StorageBytes, stored.Overrides);
        _apiCallsMonth = stored.ApiCallsMonth;
        foreach (var (user, seen) in stored.LastSeen)
        {
            _lastSeen[user] = seen;
        }

        foreach (var alert in stored.OpenAlerts)
        {
            _alerts.Restore(alert);
        }

        ConfigureBucket();
    }

    public void PlanChanged(string plan)
    {
        _quotas.Plan = plan;
        ConfigureBucket();
    }

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
        var limit = _quotas.Limit(QuotaNames.ApiCallsMonthly, now);
        if (_apiCallsMonth >= limit)
        {
            return new Admission(false, Interfaces.Common.Failure.QuotaExceeded,
                $"The monthly API-call quota is exhausted: {_apiCallsMonth} of {limit} used; it resets at {NextMonth(now):O}.", 0,
                QuotaNames.ApiCallsMonthly, limit, _apiCallsMonth);
        }

        _apiCallsMonth++;
        Pending(now).ApiCalls++;
        Seen(userId, now);
        return Admission.Granted;
    }

    private void Seen(Guid userId, DateTimeOffset now)
    {
        if (!_lastSeen.TryGetValue(userId, out var seen) || now - seen > TimeSpan.FromMinutes(1))
        {
            _lastSeen[userId] = now;
            _seenDirty[userId] = now;
        }
    }

    /// <summary>
    /// A front end's lease of up to <paramref name="want"/> admissions: each is a rate-limit token and a monthly API call,
    /// taken now (so the quota and the limit hold whatever the nodes do) and counted as used until <see cref="Return"/>
    /// gives unused ones back. A grant of 0 comes with the refusal (quota exhausted or rate-limited). No I/O.
    /// </summary>
    public (int Granted, Admission? Refusal) Lease(int want)
    {
        var now = time.GetUtcNow();
        RollMonth(now);
        var limit = _quotas.Limit(QuotaNames.ApiCallsMonthly, now);
        if (_apiCallsMonth >= limit)
        {
            return (0, new Admission(false, Interfaces.Common.Failure.QuotaExceeded,
                $"The monthly API-call quota is exhausted: {_apiCallsMonth} of {limit} used; it resets at {NextMonth(now):O}.", 0,
                QuotaNames.ApiCallsMonthly, limit, _apiCallsMonth));
        }

        var granted = _bucket!.TakeUpTo((int)Math.Min(want, limit - _apiCallsMonth), time.GetTimestamp(), time.TimestampFrequency, out var retryAfter);
        if (granted == 0)
        {
            return (0, new Admission(false, Interfaces.Common.Failure.RateLimited,
                $"Too many requests for this tenant: at most {_bucket.Rate:0.##} per second (burst {_bucket.Burst:0.##}).", Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))));
        }

        _apiCallsMonth += granted;
        Pending(now).ApiCalls += granted;
        return (granted, null);
    }

    /// <summary>
    /// A lease's report: <paramref name="used"/> tokens were spent, <paramref name="unused"/> admissions come back (tokens
    /// into the bucket, calls off this month's count unless the lease was taken in an earlier month), users seen.
    /// </summary>
    public void Return(int used, int unused, DateOnly leasedIn, IEnumerable<Guid> seen)
    {
        var now = time.GetUtcNow();
        RollMonth(now);
        _bucket!.Return(used, unused);
        if (unused > 0 && leasedIn == _month)
        {
            var back = Math.Min(unused, _apiCallsMonth);
            _apiCallsMonth -= back;
            Pending(now).ApiCalls -= back;
        }

        foreach (var userId in seen)
        {
            Seen(userId, now);
        }
    }

    /// <summary>A lease whose node never reported back: its calls stay counted, its tokens' room in the burst comes back.</summary>
    public void Forget(long held) => _bucket!.Forget(held);

    /// <summary>The tokens a node may hold at most: half the burst, so two nodes can share it and one cannot starve the others.</summary>
    public int NodeShare => (int)Math.Clamp(_bucket!.Burst / 2, 1, int.MaxValue);

    /// <summary>The month a lease taken now is counted in.</summary>
    public DateOnly Month
    {
        get
        {
            RollMonth(time.GetUtcNow());
            return _month;
        }
    }

    public Reservation Reserve(QuotaDelta delta) => _quotas.Reserve(delta, time.GetUtcNow());

    public void Settle(Guid id, bool committed) => _quotas.Settle(id, committed);

    public IReadOnlyList<Reservation> SettleAndReserve(QuotaSettlement settled, IReadOnlyList<QuotaDelta> growth) =>
        _quotas.SettleAndReserve(settled, growth, time.GetUtcNow());

    public void Apply(QuotaDelta delta) => _quotas.Apply(delta);

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
            [QuotaNames.Users] = Usage(QuotaNames.Users, _quotas.Users, now, null),
            [QuotaNames.Customers] = Usage(QuotaNames.Customers, _quotas.Customers, now, null),
            [QuotaNames.ApiCallsMonthly] = Usage(QuotaNames.ApiCallsMonthly, _apiCallsMonth, now, NextMonth(now)),
            [QuotaNames.StorageBytes] = Usage(QuotaNames.StorageBytes, _quotas.StorageBytes, now, null),
        };
        return new QuotaReport(_quotas.Plan, quotas, new RateLimit(_bucket!.Rate, _bucket.Burst), _quotas.ActiveOverrides(now));
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
            _quotas.Customers,
            _quotas.Users,
            _quotas.StorageBytes,
            Rates(five.Requests, five.ClientErrors, five.ServerErrors),
            Rates(hour.Requests, hour.ClientErrors, hour.ServerErrors),
            new Latency(five.Latency.Sum(), LatencyHistogram.Quantile(five.Latency, 0.5), LatencyHistogram.Quantile(five.Latency, 0.95),
                LatencyHistogram.Quantile(five.Latency, 0.99)),
            history);
    }

    public IReadOnlyList<Alert> Alerts => _alerts.Open;

    /// <summary>Opens (a message) or clears (null) an alert decided elsewhere; written with the next flush.</summary>
    public void SetAlert(string metric, string? message) => _alerts.Set(metric, message, time.GetUtcNow());

    public Task<IReadOnlyList<UsageDay>> HistoryAsync() =>
        _store.HistoryAsync(DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(-metering.HistoryDays));

    public QuotaOverride? Override(string quota) => _quotas.Override(quota);

    public void SetOverride(string quota, QuotaOverride? value)
    {
        _quotas.SetOverride(quota, value);
        ConfigureBucket();
    }

    /// <summary>Writes pending counters, last-seen times and alert changes (one transaction); the loss window on a crash.</summary>
    public async Task FlushAsync()
    {
        var now = time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        var five = _traffic.Sum(now, 5);
        var p95 = LatencyHistogram.Quantile(five.Latency, 0.95);
        var alertChanges = _alerts.Evaluate(new AlertInputs(now, _month,
            [.. QuotaNames.Counted.Select(q => new QuotaLevel(q, Used(q), _quotas.Limit(q, now)))], five.Requests, five.ServerErrors, p95));
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var pending = _pending.ToList();
        if (!pending.Any(p => p.Key == today))
        {
            pending.Add(new KeyValuePair<DateOnly, PendingDay>(today, new PendingDay()));
        }

        var seen = _seenDirty.ToList();
        var gauges = (_quotas.Customers, _quotas.Users, _quotas.StorageBytes, ActiveUsers: (long)_lastSeen.Values.Count(s => s > now.AddHours(-24)), LatencyP95Ms: p95);
        // An idle tenant writes nothing: once today's row exists, a flush with no counter, last-seen time, alert or gauge
        // changed since the last write is skipped (10,000 idle-but-active tenants would otherwise cost 4,000 writes a second).
        if (_prunedHistory == today && _written == gauges && seen.Count == 0 && alertChanges.Count == 0 && pending.All(p => p.Value.IsEmpty))
        {
            return;
        }

        await _store.WriteAsync(new UsageFlush(
            now,
            [.. pending.Select(p => new DayCounters(p.Key, p.Value.ApiCalls, p.Value.Requests4xx, p.Value.Requests5xx))],
            gauges.Customers,
            gauges.Users,
            gauges.StorageBytes,
            gauges.ActiveUsers,
            p95,
            seen,
            alertChanges,
            _prunedHistory != today ? today.AddDays(-metering.HistoryDays) : null));

        _prunedHistory = today;
        _written = gauges;
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

    private long Used(string quota) => quota switch
    {
        QuotaNames.Users => _quotas.Users,
        QuotaNames.Customers => _quotas.Customers,
        QuotaNames.StorageBytes => _quotas.StorageBytes,
        _ => _apiCallsMonth,
    };

    private static ErrorRates Rates(long requests, long client, long server) =>
        new(requests, requests == 0 ? 0 : Math.Round(server * 100.0 / requests, 3), requests == 0 ? 0 : Math.Round(client * 100.0 / requests, 3));

    private QuotaUsage Usage(string quota, long used, DateTimeOffset now, DateTimeOffset? resetsAt)
    {
        var limit = _quotas.Limit(quota, now);
        return new QuotaUsage(limit, used, limit <= 0 ? 100 : Math.Round(used * 100.0 / limit, 2), resetsAt);
    }

    private void ConfigureBucket()
    {
        var (rate, burst) = _quotas.RateLimit(time.GetUtcNow());
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

    /// <summary>
    /// Nothing waits to be written, no open alert (it clears as traffic ages out) and no override that will expire (limits
    /// change): until the next call into the tenant, a flush finds nothing but the slow clock-driven gauges (the day's
    /// row after midnight, the 24-hour active-user count), which a quiet grain then writes within its idle interval.
    /// </summary>
    public bool Quiet(DateTimeOffset now) =>
        _seenDirty.Count == 0 && _alerts.Open.Count == 0 && _pending.Values.All(p => p.IsEmpty)
        && _quotas.ActiveOverrides(now).All(o => o.ExpiresAt is null);

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

    private sealed class PendingDay
    {
        public long ApiCalls { get; set; }

        public long Requests4xx { get; set; }

        public long Requests5xx { get; set; }

        public bool IsEmpty => ApiCalls == 0 && Requests4xx == 0 && Requests5xx == 0;
    }
}
