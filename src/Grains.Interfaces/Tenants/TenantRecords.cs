using System.Text.Json.Serialization;

namespace Shohayota.Grains.Interfaces.Tenants;

[JsonConverter(typeof(JsonStringEnumConverter<TenantStatus>))]
public enum TenantStatus
{
    Active,
    Suspended,
    Canceled,
    Deleted,
}

public static class TenantStatusNames
{
    public static string ToWire(this TenantStatus status) => status switch
    {
        TenantStatus.Active => "active",
        TenantStatus.Suspended => "suspended",
        TenantStatus.Canceled => "canceled",
        TenantStatus.Deleted => "deleted",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static TenantStatus? Parse(string? value) => value switch
    {
        "active" => TenantStatus.Active,
        "suspended" => TenantStatus.Suspended,
        "canceled" => TenantStatus.Canceled,
        "deleted" => TenantStatus.Deleted,
        _ => null,
    };
}

[GenerateSerializer, Immutable, Alias("TenantDetails")]
public sealed record TenantDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ContactEmail,
    [property: Id(3)] string Plan,
    [property: Id(4)] TenantStatus Status,
    [property: Id(5)] string? StatusReason,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset StatusChangedAt,
    [property: Id(8)] DateTimeOffset? RetentionUntil);

[GenerateSerializer, Immutable, Alias("ProvisionTenantRequest")]
public sealed record ProvisionTenantRequest(
    [property: Id(0)] string Name,
    [property: Id(1)] string ContactEmail,
    [property: Id(2)] string AdminName,
    [property: Id(3)] string AdminEmail,
    [property: Id(4)] string AdminPassword,
    [property: Id(5)] string Plan);

[GenerateSerializer, Immutable, Alias("ProvisionedTenant")]
public sealed record ProvisionedTenant(
    [property: Id(0)] TenantDetails Tenant,
    [property: Id(1)] Guid AdminId,
    [property: Id(2)] string AdminEmail);

/// <summary>The result of the per-request admission check in the TenantGrain.</summary>
[GenerateSerializer, Immutable, Alias("Admission")]
public sealed record Admission(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] Common.Failure Failure,
    [property: Id(2)] string? Detail,
    [property: Id(3)] double RetryAfterSeconds = 0,
    [property: Id(4)] string? Quota = null,
    [property: Id(5)] long Limit = 0,
    [property: Id(6)] long Used = 0)
{
    public static readonly Admission Granted = new(true, Common.Failure.None, null);
}

[GenerateSerializer, Immutable, Alias("TenantPage")]
public sealed record TenantPage(
    [property: Id(0)] IReadOnlyList<TenantDetails> Items,
    [property: Id(1)] string? NextCursor);

[GenerateSerializer, Immutable, Alias("TenantQuery")]
public sealed record TenantQuery(
    [property: Id(0)] TenantStatus? Status,
    [property: Id(1)] string? Plan,
    [property: Id(2)] string? Q,
    [property: Id(3)] int PageSize,
    [property: Id(4)] Guid? After);
