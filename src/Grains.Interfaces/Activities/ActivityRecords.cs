using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Activities;

/// <summary>What an activity is: a note records something; a task, a call or a meeting may be due and is done once completed.</summary>
public static class ActivityTypes
{
    public const string Note = "note";
    public const string Task = "task";
    public const string Call = "call";
    public const string Meeting = "meeting";

    public static readonly IReadOnlyList<string> All = [Note, Task, Call, Meeting];
}

/// <summary>A note, task, call or meeting about one of the tenant's customers, contacts or deals (at least one of them).</summary>
[GenerateSerializer, Immutable, Alias("ActivityDetails")]
public sealed record ActivityDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Type,
    [property: Id(2)] string Subject,
    [property: Id(3)] string? Body,
    [property: Id(4)] DateTimeOffset? DueAt,
    [property: Id(5)] Guid? AssigneeUserId,
    [property: Id(6)] Guid? CustomerId,
    [property: Id(7)] Guid? ContactId,
    [property: Id(8)] Guid? DealId,
    [property: Id(9)] DateTimeOffset? CompletedAt,
    [property: Id(10)] DateTimeOffset CreatedAt,
    [property: Id(11)] DateTimeOffset UpdatedAt,
    [property: Id(12)] int Version) : IRecordDetails
{
    public bool Done => CompletedAt is not null;
}

/// <summary>
/// The writable fields of an activity (create and full update). <see cref="Done"/> completes it (the grain sets the
/// completion time when it becomes done and clears it when it is reopened); a note is never done.
/// </summary>
[GenerateSerializer, Immutable, Alias("ActivityFields")]
public sealed record ActivityFields(
    [property: Id(0)] string Type,
    [property: Id(1)] string Subject,
    [property: Id(2)] string? Body,
    [property: Id(3)] DateTimeOffset? DueAt,
    [property: Id(4)] Guid? AssigneeUserId,
    [property: Id(5)] Guid? CustomerId,
    [property: Id(6)] Guid? ContactId,
    [property: Id(7)] Guid? DealId,
    [property: Id(8)] bool Done = false);

public enum ActivitySort
{
    CreatedAtDescending,
    CreatedAtAscending,
    UpdatedAtDescending,
    UpdatedAtAscending,
    DueAtAscending,
    DueAtDescending,
}

/// <summary>
/// One page of activities. <see cref="DueFrom"/> and <see cref="DueBefore"/> bound the due time (the API turns
/// <c>due=overdue|today|week</c> into them, in the caller's time zone); <see cref="CustomerId"/> matches the activities
/// about the customer: linked to it, to one of its contacts or to one of its deals.
/// </summary>
[GenerateSerializer, Immutable, Alias("ActivityQuery")]
public sealed record ActivityQuery(
    [property: Id(0)] string? Type,
    [property: Id(1)] Guid? AssigneeUserId,
    [property: Id(2)] DateTimeOffset? DueFrom,
    [property: Id(3)] DateTimeOffset? DueBefore,
    [property: Id(4)] bool? Done,
    [property: Id(5)] Guid? CustomerId,
    [property: Id(6)] Guid? ContactId,
    [property: Id(7)] Guid? DealId,
    [property: Id(8)] ActivitySort Sort,
    [property: Id(9)] int PageSize,
    [property: Id(10)] ActivityCursor? After);

/// <summary>Where the previous page ended: its last row's sort key (a time; for the due sort, <see cref="ActivityDue.Never"/> when it has none) and id.</summary>
[GenerateSerializer, Immutable, Alias("ActivityCursor")]
public sealed record ActivityCursor(
    [property: Id(0)] ActivitySort Sort,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] Guid Id);

[GenerateSerializer, Immutable, Alias("ActivityPage")]
public sealed record ActivityPage(
    [property: Id(0)] IReadOnlyList<ActivityDetails> Items,
    [property: Id(1)] ActivityCursor? Next);

public static class ActivityDue
{
    /// <summary>The due time the "dueAt" sort gives an activity without one (sql/0190's due_sort): after every real one.</summary>
    public static readonly DateTimeOffset Never = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);
}

/// <summary>One per activity (<see cref="GrainKeys.Activity"/>): the single writer of its row.</summary>
[Alias("IActivityGrain")]
public interface IActivityGrain : IRecordGrain<ActivityDetails, ActivityFields>
{
    /// <summary>Completes (or with <paramref name="done"/> false reopens) a task, call or meeting: one audited change <c>activity.completed</c> (<c>activity.reopened</c>).</summary>
    [Alias("Complete")]
    Task<Outcome<ActivityDetails>> CompleteAsync(bool done, int? expectedVersion);
}

/// <summary>Lists one tenant's activities (<see cref="GrainKeys.ActivityQuery"/>); stateless.</summary>
[Alias("IActivityQueryGrain")]
public interface IActivityQueryGrain : IGrainWithStringKey
{
    // ReadOnly: a read to the isolation filter (canceled tenants list and export); the tenant's workers interleave it.
    [Alias("List"), ReadOnly]
    Task<Outcome<ActivityPage>> ListAsync(ActivityQuery query);
}

/// <summary>Activity ids that a client's Idempotency-Key fixes, so a retried create reaches the same activity grain.</summary>
public static class ActivityIds
{
    public static Guid ForIdempotencyKey(Guid tenantId, Guid userId, string key) => RecordIds.ForIdempotencyKey("activity", tenantId, userId, key);
}
