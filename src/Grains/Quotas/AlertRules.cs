using System.Globalization;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Grains.Quotas;

/// <summary>How an alert changed in one evaluation.</summary>
internal enum AlertChange
{
    Opened,
    Updated,
    Cleared,
}

/// <summary>One counted quota's use and limit at evaluation time.</summary>
internal readonly record struct QuotaLevel(string Quota, long Used, long Limit);

/// <summary>What the alert rules look at: quota levels, and the last five minutes of traffic.</summary>
internal sealed record AlertInputs(
    DateTimeOffset Now, DateOnly Month, IReadOnlyList<QuotaLevel> Quotas, long Requests, long ServerErrors, double? LatencyP95Ms);

/// <summary>
/// A tenant's open alerts and the rules that open, update and clear them: quota use (warning/critical percentages, with
/// the projected exhaustion date for monthly API calls), the 5xx share and the p95 latency of the last five minutes.
/// Pure: no I/O and no clock of its own, so the rules are tested without a host.
/// </summary>
internal sealed class AlertRules(Guid tenantId, MeteringOptions metering)
{
    private readonly Dictionary<string, Alert> _open = new(StringComparer.Ordinal);
    private readonly List<(Alert, AlertChange)> _raised = [];

    public string? TenantName { get; set; }

    public IReadOnlyList<Alert> Open => _open.Values.OrderBy(a => a.Since).ToList();

    /// <summary>An alert that was open when the grain last wrote its state.</summary>
    public void Restore(Alert alert) => _open[alert.Metric] = alert;

    /// <summary>
    /// Opens (a message) or clears (null) an alert another part of the system decides, such as a webhook disabled after
    /// its retry period: kept open until that part clears it, written with the next evaluation's changes.
    /// </summary>
    public void Set(string metric, string? message, DateTimeOffset now)
    {
        _open.TryGetValue(metric, out var open);
        if (message is null)
        {
            if (open is not null)
            {
                _open.Remove(metric);
                _raised.Add((open with { Message = "Cleared: " + open.Message }, AlertChange.Cleared));
            }

            return;
        }

        var alert = open is null
            ? new Alert(Guid.NewGuid(), tenantId, TenantName, metric, "critical", 1, 1, now, message, null)
            : open with { Message = message, TenantName = TenantName };
        _open[metric] = alert;
        _raised.Add((alert, open is null ? AlertChange.Opened : AlertChange.Updated));
    }

    public List<(Alert Alert, AlertChange Change)> Evaluate(AlertInputs inputs)
    {
        var changes = new List<(Alert, AlertChange)>(_raised);
        _raised.Clear();
        foreach (var (quota, used, limit) in inputs.Quotas)
        {
            double? percent = limit <= 0 ? (used > 0 ? 100 : null) : Math.Round(used * 100.0 / limit, 2);
            Evaluate(changes, inputs.Now, quota, percent, metering.QuotaWarningPercent, metering.QuotaCriticalPercent, "%",
                quota == QuotaNames.ApiCallsMonthly ? Projection(used, limit, inputs.Month, inputs.Now) : null);
        }

        var sampled = inputs.Requests >= metering.MinimumSample;
        Evaluate(changes, inputs.Now, "errorRate", sampled ? Math.Round(inputs.ServerErrors * 100.0 / inputs.Requests, 2) : null,
            metering.ErrorRateWarningPercent, metering.ErrorRateCriticalPercent, "%");
        Evaluate(changes, inputs.Now, "latencyP95", sampled ? inputs.LatencyP95Ms : null, metering.LatencyWarningMs, metering.LatencyCriticalMs, " ms");
        return changes;
    }

    private void Evaluate(
        List<(Alert, AlertChange)> changes, DateTimeOffset now, string metric, double? value, double warning, double critical, string unit,
        DateTimeOffset? projected = null)
    {
        var level = value is null ? null : value >= critical ? "critical" : value >= warning ? "warning" : null;
        _open.TryGetValue(metric, out var open);
        if (level is null)
        {
            if (open is not null)
            {
                _open.Remove(metric);
                changes.Add((open with { Value = value ?? open.Value, Message = $"Cleared: {Describe(metric)} back to {Format(value, unit)}." }, AlertChange.Cleared));
            }

            return;
        }

        var threshold = level == "critical" ? critical : warning;
        var message = $"{Describe(metric)} is {Format(value, unit)} (≥ {Format(threshold, unit)}, {level})" +
            (projected is { } date ? $"; at the current pace the quota runs out on {date:yyyy-MM-dd}." : ".");
        if (open is null)
        {
            var alert = new Alert(Guid.NewGuid(), tenantId, TenantName, metric, level, value!.Value, threshold, now, message, projected);
            _open[metric] = alert;
            changes.Add((alert, AlertChange.Opened));
        }
        else if (open.Level != level || Math.Abs(open.Value - value!.Value) > 0.01)
        {
            var updated = open with { Level = level, Value = value!.Value, Threshold = threshold, Message = message, ProjectedExhaustion = projected, TenantName = TenantName };
            _open[metric] = updated;
            changes.Add((updated, AlertChange.Updated));
        }
    }

    /// <summary>When the monthly quota runs out at this month's pace so far; null when that is more than a year away.</summary>
    internal static DateTimeOffset? Projection(long used, long limit, DateOnly month, DateTimeOffset now)
    {
        var monthStart = new DateTimeOffset(month.Year, month.Month, 1, 0, 0, 0, TimeSpan.Zero);
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
}
