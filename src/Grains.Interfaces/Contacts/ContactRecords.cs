using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Contacts;

/// <summary>A person at (or apart from) one of the tenant's customers.</summary>
[GenerateSerializer, Immutable, Alias("ContactDetails")]
public sealed record ContactDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string? FirstName,
    [property: Id(2)] string? LastName,
    [property: Id(3)] string? Email,
    [property: Id(4)] string? Phone,
    [property: Id(5)] string? Title,
    [property: Id(6)] Guid? CustomerId,
    [property: Id(7)] Guid? OwnerUserId,
    [property: Id(8)] IReadOnlyList<string> Tags,
    [property: Id(9)] string? Notes,
    [property: Id(10)] DateTimeOffset CreatedAt,
    [property: Id(11)] DateTimeOffset UpdatedAt,
    [property: Id(12)] int Version,
    [property: Id(13)] string CustomFields = "{}") : IRecordDetails
{
    /// <summary>First and last name as a person reads them.</summary>
    public string DisplayName => string.Join(' ', new[] { FirstName, LastName }.Where(n => !string.IsNullOrEmpty(n)));
}

/// <summary>The writable fields of a contact (create and full update).</summary>
[GenerateSerializer, Immutable, Alias("ContactFields")]
public sealed record ContactFields(
    [property: Id(0)] string? FirstName,
    [property: Id(1)] string? LastName,
    [property: Id(2)] string? Email,
    [property: Id(3)] string? Phone,
    [property: Id(4)] string? Title,
    [property: Id(5)] Guid? CustomerId,
    [property: Id(6)] Guid? OwnerUserId,
    [property: Id(7)] IReadOnlyList<string> Tags,
    [property: Id(8)] string? Notes,
    [property: Id(9)] string CustomFields = "{}");

public enum ContactSort
{
    CreatedAtDescending,
    CreatedAtAscending,
    UpdatedAtDescending,
    UpdatedAtAscending,
    NameAscending,
    NameDescending,
}

[GenerateSerializer, Immutable, Alias("ContactQuery")]
public sealed record ContactQuery(
    [property: Id(0)] string? Q,
    [property: Id(1)] Guid? CustomerId,
    [property: Id(2)] string? Tag,
    [property: Id(3)] Guid? OwnerUserId,
    [property: Id(4)] ContactSort Sort,
    [property: Id(5)] int PageSize,
    [property: Id(6)] ContactCursor? After,
    [property: Id(7)] string? CustomFields = null);

/// <summary>Where the previous page ended: the sort key (the database's sort name, or a time) and id of its last row.</summary>
[GenerateSerializer, Immutable, Alias("ContactCursor")]
public sealed record ContactCursor(
    [property: Id(0)] ContactSort Sort,
    [property: Id(1)] string? Name,
    [property: Id(2)] DateTimeOffset? At,
    [property: Id(3)] Guid Id);

[GenerateSerializer, Immutable, Alias("ContactPage")]
public sealed record ContactPage(
    [property: Id(0)] IReadOnlyList<ContactDetails> Items,
    [property: Id(1)] ContactCursor? Next);

/// <summary>One per contact (<see cref="GrainKeys.Contact"/>): the single writer of its row.</summary>
[Alias("IContactGrain")]
public interface IContactGrain : IRecordGrain<ContactDetails, ContactFields>;

/// <summary>Lists one tenant's contacts (<see cref="GrainKeys.ContactQuery"/>); stateless.</summary>
[Alias("IContactQueryGrain")]
public interface IContactQueryGrain : IGrainWithStringKey
{
    // ReadOnly: a read to the isolation filter (canceled tenants list and export); TenantQueryGate bounds its searches.
    [Alias("List"), ReadOnly]
    Task<Outcome<ContactPage>> ListAsync(ContactQuery query);
}

/// <summary>Contact ids that a client's Idempotency-Key fixes, so a retried create reaches the same contact grain.</summary>
public static class ContactIds
{
    public static Guid ForIdempotencyKey(Guid tenantId, Guid userId, string key) => RecordIds.ForIdempotencyKey("contact", tenantId, userId, key);
}
