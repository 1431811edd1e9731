using System.Globalization;
using MudBlazor;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Api.Web;

/// <summary>How the web UI writes numbers, sizes, statuses and quota names, and colours usage.</summary>
public static class UiFormat
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    public static string Bytes(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : value.ToString(value >= 100 ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Number(double? value) => value is { } v ? v.ToString("0.##", CultureInfo.InvariantCulture) : "–";

    /// <summary>An exact amount and its currency, "12,500.50 EUR": two to four decimals, as stored (deals keep at most four), never rounded.</summary>
    public static string Money(decimal amount, string currency) => amount.ToString("#,##0.00##", CultureInfo.InvariantCulture) + " " + currency;

    public static string Date(DateOnly? date) => date is { } d ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "–";

    public static string Time(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "–";

    /// <summary>
    /// The one colour scheme of statuses (tenants, users, silos — <c>StatusChip</c> shows them): active green, suspended
    /// amber, canceled grey, deleted red, anything else (disabled, dead, a customer's stage) grey.
    /// </summary>
    public static Color StatusColor(string status) => status switch
    {
        "active" => Color.Success,
        "suspended" => Color.Warning,
        "deleted" => Color.Error,
        _ => Color.Default,
    };

    public static Color LevelColor(string level) => level == "critical" ? Color.Error : Color.Warning;

    public static string QuotaLabel(string quota) => quota switch
    {
        QuotaNames.Users => "Users",
        QuotaNames.Customers => "Customers",
        QuotaNames.ApiCallsMonthly => "API calls this month",
        QuotaNames.StorageBytes => "Storage",
        QuotaNames.RateLimitPerSecond => "Rate limit per second",
        _ => quota,
    };

    public static string QuotaValue(string quota, long value) => quota == QuotaNames.StorageBytes ? Bytes(value) : Number(value);

    /// <summary>"critical" from 95 %, "warning" from 80 % (the alert thresholds), else "ok".</summary>
    public static string UsageLevel(double percent) => percent >= 95 ? "critical" : percent >= 80 ? "warning" : "ok";

    public static Color UsageColor(double percent) => UsageLevel(percent) switch
    {
        "critical" => Color.Error,
        "warning" => Color.Warning,
        _ => Color.Primary,
    };
}
