using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Customers;

public static class CustomerStatuses
{
    public static readonly IReadOnlyList<string> All = ["lead", "prospect", "customer", "churned"];
    public const string Default = "lead";
}

[GenerateSerializer, Immutable, Alias("CustomerDetails")]
public sealed record CustomerDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string? Email,
    [property: Id(3)] string? Phone,
    [property: Id(4)] string? Company,
    [property: Id(5)] string Status,
    [property: Id(6)] IReadOnlyList<string> Tags,
    [property: Id(7)] string? Notes,
    [property: Id(8)] Guid? OwnerUserId,
    [property: Id(9)] DateTimeOffset CreatedAt,
    [property: Id(10)] DateTimeOffset UpdatedAt,
    [property: Id(11)] int Version,
    [property: Id(12)] string CustomFields = "{}") : IRecordDetails;

/// <summary>The writable fields of a customer (create and full update).</summary>
[GenerateSerializer, Immutable, Alias("CustomerFields")]
public sealed record CustomerFields(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Email,
    [property: Id(2)] string? Phone,
    [property: Id(3)] string? Company,
    [property: Id(4)] string Status,
    [property: Id(5)] IReadOnlyList<string> Tags,
    [property: Id(6)] string? Notes,
    [property: Id(7)] Guid? OwnerUserId,
    [property: Id(8)] string CustomFields = "{}");

public enum CustomerSort
{
    CreatedAtDescending,
    CreatedAtAscending,
    UpdatedAtDescending,
    UpdatedAtAscending,
    NameAscending,
    NameDescending,

    /// <summary>Most similar to the search term first (pg_trgm <c>similarity</c>), then by id; only with a term.</summary>
    Relevance,
}

[GenerateSerializer, Immutable, Alias("CustomerQuery")]
public sealed record CustomerQuery(
    [property: Id(0)] string? Q,
    [property: Id(1)] string? Status,
    [property: Id(2)] string? Tag,
    [property: Id(3)] Guid? OwnerUserId,
    [property: Id(4)] CustomerSort Sort,
    [property: Id(5)] int PageSize,
    [property: Id(6)] CustomerCursor? After,
    [property: Id(7)] string? CustomFields = null);

/// <summary>Where the previous page ended: the sort key (name, time or relevance score) and id of its last row.</summary>
[GenerateSerializer, Immutable, Alias("CustomerCursor")]
public sealed record CustomerCursor(
    [property: Id(0)] CustomerSort Sort,
    [property: Id(1)] string? Name,
    [property: Id(2)] DateTimeOffset? At,
    [property: Id(3)] Guid Id,
    [property: Id(4)] float? Score = null);

[GenerateSerializer, Immutable, Alias("CustomerPage")]
public sealed record CustomerPage(
    [property: Id(0)] IReadOnlyList<CustomerDetails> Items,
    [property: Id(1)] CustomerCursor? Next);

/// <summary>One per customer (<see cref="GrainKeys.Customer"/>): the single writer of its row.</summary>
[Alias("ICustomerGrain")]
public interface ICustomerGrain : IRecordGrain<CustomerDetails, CustomerFields>;

/// <summary>Lists and searches one tenant's customers (<see cref="GrainKeys.CustomerQuery"/>); stateless.</summary>
[Alias("ICustomerQueryGrain")]
public interface ICustomerQueryGrain : IGrainWithStringKey
{
    /// <summary>One page; a search that outlives its statement timeout fails with <see cref="Failure.SearchTimeout"/>.</summary>
    // ReadOnly: a read to the isolation filter (canceled tenants list and export); TenantQueryGate bounds its searches.
    [Alias("List"), ReadOnly]
    Task<Outcome<CustomerPage>> ListAsync(CustomerQuery query);
}

/// <summary>Customer ids that a client's Idempotency-Key fixes, so a retried create reaches the same customer grain.</summary>
public static class CustomerIds
{
    public static Guid ForIdempotencyKey(Guid tenantId, Guid userId, string key) => RecordIds.ForIdempotencyKey("customer", tenantId, userId, key);
}
