namespace Shohayota.Grains.Quotas;

public sealed class PlanLimits
{
    public long Users { get; set; }

    public long Customers { get; set; }

    public long ApiCallsMonthly { get; set; }

    public long StorageBytes { get; set; }

    public double RateLimitPerSecond { get; set; }

    public double RateLimitBurst { get; set; }
}

/// <summary>Plans by name (section <c>Shohayota:Plans</c>); the defaults below are merged with configuration.</summary>
public sealed class PlansOptions : Dictionary<string, PlanLimits>
{
    public const string SectionName = "Shohayota:Plans";

    public PlansOptions()
        : base(StringComparer.Ordinal)
    {
    }

    public void AddDefaults()
    {
        TryAdd("free", new PlanLimits
        {
            Users = 3, Customers = 500, ApiCallsMonthly = 50_000, StorageBytes = 50L * 1024 * 1024, RateLimitPerSecond = 10, RateLimitBurst = 20,
        });
        TryAdd("pro", new PlanLimits
        {
            Users = 50, Customers = 50_000, ApiCallsMonthly = 5_000_000, StorageBytes = 5L * 1024 * 1024 * 1024, RateLimitPerSecond = 200, RateLimitBurst = 400,
        });
        TryAdd("enterprise", new PlanLimits
        {
            Users = 5_000, Customers = 5_000_000, ApiCallsMonthly = 500_000_000, StorageBytes = 500L * 1024 * 1024 * 1024,
            RateLimitPerSecond = 20_000, RateLimitBurst = 40_000,
        });
    }
}

/// <summary>Write-behind and alert settings (section <c>Shohayota:Metering</c>).</summary>
public sealed class MeteringOptions
{
    public const string SectionName = "Shohayota:Metering";

    /// <summary>How often a TenantGrain writes its counters; the most API calls a silo crash can lose.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a quiet tenant's grain looks at its usage (nothing to write, no open alert, no expiring override):
    /// any call into the tenant brings it back to <see cref="FlushInterval"/>. Idle-but-active tenants then cost
    /// almost nothing between requests.
    /// </summary>
    public TimeSpan IdleFlushInterval { get; set; } = TimeSpan.FromMinutes(1);

    public double QuotaWarningPercent { get; set; } = 80;

    public double QuotaCriticalPercent { get; set; } = 95;

    public double ErrorRateWarningPercent { get; set; } = 1;

    public double ErrorRateCriticalPercent { get; set; } = 5;

    public double LatencyWarningMs { get; set; } = 500;

    public double LatencyCriticalMs { get; set; } = 2000;

    /// <summary>Rate alerts need at least this many requests in their window.</summary>
    public long MinimumSample { get; set; } = 100;

    public int HistoryDays { get; set; } = 90;

    /// <summary>Failed, unknown-e-mail and throttled sign-ins on one node over 5 minutes that raise the system alert <c>signInFailures</c>.</summary>
    public long SignInFailuresWarning { get; set; } = 100;

    public long SignInFailuresCritical { get; set; } = 1000;
}
