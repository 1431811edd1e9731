using Orleans.Concurrency;

namespace Shohayota.Grains.Interfaces.Quotas;

/// <summary>The quotas a plan limits; names are the API's.</summary>
public static class QuotaNames
{
    public const string Users = "users";
    public const string Customers = "customers";
    public const string ApiCallsMonthly = "apiCallsMonthly";
    public const string StorageBytes = "storageBytes";
    public const string RateLimitPerSecond = "rateLimitPerSecond";

    public static readonly IReadOnlyList<string> Counted = [Users, Customers, ApiCallsMonthly, StorageBytes];
    public static readonly IReadOnlyList<string> Overridable = [Users, Customers, ApiCallsMonthly, StorageBytes, RateLimitPerSecond];
}

[GenerateSerializer, Immutable, Alias("QuotaUsage")]
public sealed record QuotaUsage(
    [property: Id(0)] long Limit,
    [property: Id(1)] long Used,
    [property: Id(2)] double Percent,
    [property: Id(3)] DateTimeOffset? ResetsAt);

[GenerateSerializer, Immutable, Alias("QuotaOverride")]
public sealed record QuotaOverride(
    [property: Id(0)] string Quota,
    [property: Id(1)] long Value,
    [property: Id(2)] DateTimeOffset? ExpiresAt,
    [property: Id(3)] string? Reason);

[GenerateSerializer, Immutable, Alias("RateLimit")]
public sealed record RateLimit(
    [property: Id(0)] double PerSecond,
    [property: Id(1)] double Burst);

[GenerateSerializer, Immutable, Alias("QuotaReport")]
public sealed record QuotaReport(
    [property: Id(0)] string Plan,
    [property: Id(1)] IReadOnlyDictionary<string, QuotaUsage> Quotas,
    [property: Id(2)] RateLimit RateLimit,
    [property: Id(3)] IReadOnlyList<QuotaOverride> Overrides);

/// <summary>Growth a write asks for (e.g. one customer and its bytes); negative deltas are shrinkage.</summary>
[GenerateSerializer, Immutable, Alias("QuotaDelta")]
public sealed record QuotaDelta(
    [property: Id(0)] long Customers,
    [property: Id(1)] long Users,
    [property: Id(2)] long StorageBytes);

[GenerateSerializer, Immutable, Alias("Reservation")]
public sealed record Reservation(
    [property: Id(0)] Guid Id,
    [property: Id(1)] bool Granted,
    [property: Id(2)] string? Quota,
    [property: Id(3)] long Limit,
    [property: Id(4)] long Used)
{
    public string Message => $"The {Quota} quota is exhausted: {Used} of {Limit} used.";
}

/// <summary>
/// What a batch of writes did with its reservations: those to turn into usage, those to give back, and committed
/// shrinkage (deletes, smaller updates) that needed no reservation.
/// </summary>
[GenerateSerializer, Immutable, Alias("QuotaSettlement")]
public sealed record QuotaSettlement(
    [property: Id(0)] IReadOnlyList<Guid> Committed,
    [property: Id(1)] IReadOnlyList<Guid> Released,
    [property: Id(2)] QuotaDelta Shrinkage)
{
    public static readonly QuotaSettlement None = new([], [], new QuotaDelta(0, 0, 0));

    public bool IsEmpty => Committed.Count == 0 && Released.Count == 0 && Shrinkage is { Customers: 0, Users: 0, StorageBytes: 0 };
}

/// <summary>Overrides to set (a value) or remove (null) for the listed quotas.</summary>
[GenerateSerializer, Immutable, Alias("OverrideChange")]
public sealed record OverrideChange(
    [property: Id(0)] IReadOnlyDictionary<string, long?> Values,
    [property: Id(1)] DateTimeOffset? ExpiresAt,
    [property: Id(2)] string? Reason);

/// <summary>What one front end saw of a tenant's requests since its last report.</summary>
[GenerateSerializer, Immutable, Alias("TrafficSample")]
public sealed record TrafficSample(
    [property: Id(0)] long Requests,
    [property: Id(1)] long ClientErrors,
    [property: Id(2)] long ServerErrors,
    [property: Id(3)] long[] LatencyBuckets);

[GenerateSerializer, Immutable, Alias("UsageDay")]
public sealed record UsageDay(
    [property: Id(0)] DateOnly Day,
    [property: Id(1)] long ApiCalls,
    [property: Id(2)] long Requests4xx,
    [property: Id(3)] long Requests5xx,
    [property: Id(4)] long Customers,
    [property: Id(5)] long Users,
    [property: Id(6)] long StorageBytes,
    [property: Id(7)] long ActiveUsers);

[GenerateSerializer, Immutable, Alias("UsageReport")]
public sealed record UsageReport(
    [property: Id(0)] long ApiCallsThisMonth,
    [property: Id(1)] long ActiveUsers24h,
    [property: Id(2)] long ActiveUsers30d,
    [property: Id(3)] long Customers,
    [property: Id(4)] long Users,
    [property: Id(5)] long StorageBytes,
    [property: Id(6)] ErrorRates ErrorRate5m,
    [property: Id(7)] ErrorRates ErrorRate1h,
    [property: Id(8)] Latency Latency5m,
    [property: Id(9)] IReadOnlyList<UsageDay> History);

[GenerateSerializer, Immutable, Alias("ErrorRates")]
public sealed record ErrorRates(
    [property: Id(0)] long Requests,
    [property: Id(1)] double ServerErrorShare,
    [property: Id(2)] double ClientErrorShare);

[GenerateSerializer, Immutable, Alias("Latency")]
public sealed record Latency(
    [property: Id(0)] long Samples,
    [property: Id(1)] double? P50Ms,
    [property: Id(2)] double? P95Ms,
    [property: Id(3)] double? P99Ms);

[GenerateSerializer, Immutable, Alias("Alert")]
public sealed record Alert(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] string? TenantName,
    [property: Id(3)] string Metric,
    [property: Id(4)] string Level,
    [property: Id(5)] double Value,
    [property: Id(6)] double Threshold,
    [property: Id(7)] DateTimeOffset Since,
    [property: Id(8)] string Message,
    [property: Id(9)] DateTimeOffset? ProjectedExhaustion);
