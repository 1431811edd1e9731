using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Deals;

/// <summary>The statuses a deal has: its stage's kind.</summary>
public static class DealStatuses
{
    public const string Open = "open";
    public const string Won = "won";
    public const string Lost = "lost";

    public static readonly IReadOnlyList<string> All = [Open, Won, Lost];
}

/// <summary>A sale in progress (or closed) with one of the tenant's customers, in one stage of the pipeline.</summary>
[GenerateSerializer, Immutable, Alias("DealDetails")]
public sealed record DealDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] Guid CustomerId,
    [property: Id(3)] IReadOnlyList<Guid> ContactIds,
    [property: Id(4)] decimal Amount,
    [property: Id(5)] string Currency,
    [property: Id(6)] Guid StageId,
    [property: Id(7)] string Status,
    [property: Id(8)] DateOnly? ExpectedCloseDate,
    [property: Id(9)] Guid? OwnerUserId,
    [property: Id(10)] DateTimeOffset? ClosedAt,
    [property: Id(11)] DateTimeOffset CreatedAt,
    [property: Id(12)] DateTimeOffset UpdatedAt,
    [property: Id(13)] int Version,
    [property: Id(14)] string CustomFields = "{}") : IRecordDetails;

/// <summary>
/// The writable fields of a deal (create and full update). <see cref="StageId"/> null means the pipeline's first open
/// stage; <see cref="Status"/> is never the caller's: the grain sets it from the stage's kind.
/// </summary>
[GenerateSerializer, Immutable, Alias("DealFields")]
public sealed record DealFields(
    [property: Id(0)] string Name,
    [property: Id(1)] Guid CustomerId,
    [property: Id(2)] IReadOnlyList<Guid> ContactIds,
    [property: Id(3)] decimal Amount,
    [property: Id(4)] string Currency,
    [property: Id(5)] Guid? StageId,
    [property: Id(6)] DateOnly? ExpectedCloseDate,
    [property: Id(7)] Guid? OwnerUserId,
    [property: Id(8)] string? Status = null,
    [property: Id(9)] string CustomFields = "{}");

public enum DealSort
{
    CreatedAtDescending,
    CreatedAtAscending,
    UpdatedAtDescending,
    UpdatedAtAscending,
    ExpectedCloseDateAscending,
    ExpectedCloseDateDescending,
    AmountAscending,
    AmountDescending,
}

[GenerateSerializer, Immutable, Alias("DealQuery")]
public sealed record DealQuery(
    [property: Id(0)] Guid? StageId,
    [property: Id(1)] string? Status,
    [property: Id(2)] Guid? CustomerId,
    [property: Id(3)] Guid? OwnerUserId,
    [property: Id(4)] DateOnly? ClosingBefore,
    [property: Id(5)] DealSort Sort,
    [property: Id(6)] int PageSize,
    [property: Id(7)] DealCursor? After,
    [property: Id(8)] string? CustomFields = null,
    [property: Id(9)] Guid? ContactId = null);

/// <summary>Where the previous page ended: its last row's sort key (a time, a date or an amount) and id.</summary>
[GenerateSerializer, Immutable, Alias("DealCursor")]
public sealed record DealCursor(
    [property: Id(0)] DealSort Sort,
    [property: Id(1)] DateTimeOffset? At,
    [property: Id(2)] DateOnly? Date,
    [property: Id(3)] decimal? Amount,
    [property: Id(4)] Guid Id);

[GenerateSerializer, Immutable, Alias("DealPage")]
public sealed record DealPage(
    [property: Id(0)] IReadOnlyList<DealDetails> Items,
    [property: Id(1)] DealCursor? Next);

/// <summary>One per deal (<see cref="GrainKeys.Deal"/>): the single writer of its row and its contact links.</summary>
[Alias("IDealGrain")]
public interface IDealGrain : IRecordGrain<DealDetails, DealFields>
{
    /// <summary>Moves the deal to another stage: one audited change <c>deal.stage_changed</c> with from and to.</summary>
    [Alias("MoveToStage")]
    Task<Outcome<DealDetails>> MoveToStageAsync(Guid stageId, int? expectedVersion);
}

/// <summary>Lists one tenant's deals (<see cref="GrainKeys.DealQuery"/>); stateless.</summary>
[Alias("IDealQueryGrain")]
public interface IDealQueryGrain : IGrainWithStringKey
{
    // ReadOnly: a read to the isolation filter (canceled tenants list and export); the tenant's workers interleave it.
    [Alias("List"), ReadOnly]
    Task<Outcome<DealPage>> ListAsync(DealQuery query);
}

/// <summary>Deal ids that a client's Idempotency-Key fixes, so a retried create reaches the same deal grain.</summary>
public static class DealIds
{
    public static Guid ForIdempotencyKey(Guid tenantId, Guid userId, string key) => RecordIds.ForIdempotencyKey("deal", tenantId, userId, key);
}
