using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Audit;

public static class AuditOutcomes
{
    public const string Success = "success";
    public const string Denied = "denied";
    public const string Failed = "failed";
}

/// <summary>What a grain asks the log to record; who, when and from where are filled in by the log itself.</summary>
[GenerateSerializer, Immutable, Alias("AuditDraft")]
public sealed record AuditDraft(
    [property: Id(0)] string Action,
    [property: Id(1)] string? TargetType,
    [property: Id(2)] string? TargetId,
    [property: Id(3)] string Outcome = AuditOutcomes.Success,
    [property: Id(4)] string? Details = null);

[GenerateSerializer, Immutable, Alias("AuditActor")]
public sealed record AuditActor(
    [property: Id(0)] Guid? Id,
    [property: Id(1)] string? Email,
    [property: Id(2)] string? Role);

[GenerateSerializer, Immutable, Alias("AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] long Seq,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] AuditActor Actor,
    [property: Id(5)] string Action,
    [property: Id(6)] string? TargetType,
    [property: Id(7)] string? TargetId,
    [property: Id(8)] string Outcome,
    [property: Id(9)] string? Ip,
    [property: Id(10)] string? UserAgent,
    [property: Id(11)] string? RequestId,
    [property: Id(12)] string? Details,
    [property: Id(13)] byte[] PrevHash,
    [property: Id(14)] byte[] Hash);

[GenerateSerializer, Immutable, Alias("AuditVerification")]
public sealed record AuditVerification(
    [property: Id(0)] bool Valid,
    [property: Id(1)] long Entries,
    [property: Id(2)] string? HeadHash,
    [property: Id(3)] long? BrokenAtSeq,
    [property: Id(4)] string? Problem,
    [property: Id(5)] AuditAnchorCheck? Anchors = null);

/// <summary>How many of the chain's anchored heads were compared with it, how many still match, and the newest one's time.</summary>
[GenerateSerializer, Immutable, Alias("AuditAnchorCheck")]
public sealed record AuditAnchorCheck(
    [property: Id(0)] long Checked,
    [property: Id(1)] long Matched,
    [property: Id(2)] DateTimeOffset? LastAnchorAt);

[GenerateSerializer, Immutable, Alias("AuditQuery")]
public sealed record AuditQuery(
    [property: Id(0)] string? ActionPrefix,
    [property: Id(1)] Guid? ActorId,
    [property: Id(2)] string? TargetId,
    [property: Id(3)] string? Outcome,
    [property: Id(4)] DateTimeOffset? From,
    [property: Id(5)] DateTimeOffset? To,
    [property: Id(6)] int PageSize,
    [property: Id(7)] long? BeforeSeq);

[GenerateSerializer, Immutable, Alias("AuditPage")]
public sealed record AuditPage(
    [property: Id(0)] IReadOnlyList<AuditEntry> Items,
    [property: Id(1)] long? NextBeforeSeq);

/// <summary>
/// One per tenant (<see cref="GrainKeys.AuditLog"/>): the single writer of the tenant's hash chain. Concurrent
/// appends are grouped into one database transaction (group commit). Data changes with their entries go through the
/// grains' internal writer contract (IAuditWriterGrain in Shohayota.Grains): no public grain contract carries SQL.
/// </summary>
[Alias("IAuditLogGrain")]
public interface IAuditLogGrain : IGrainWithStringKey
{
    /// <summary>Appends entries that record no data change (sign-ins, denials, reads); returns once committed.</summary>
    [Alias("Append")]
    Task<IReadOnlyList<AuditEntry>> AppendAsync(IReadOnlyList<AuditDraft> entries);

    [Alias("Verify"), ReadOnly]
    Task<AuditVerification> VerifyAsync();

    /// <summary>Removes entries older than the cutoff, keeping a checkpoint so the rest still verifies.</summary>
    [Alias("Prune")]
    Task<long> PruneAsync(DateTimeOffset before);

    /// <summary>Drops the activation after the tenant's log was purged.</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}

/// <summary>Reads one tenant's log (<see cref="GrainKeys.AuditQuery"/>); stateless.</summary>
[Alias("IAuditQueryGrain")]
public interface IAuditQueryGrain : IGrainWithStringKey
{
    [Alias("List"), ReadOnly]
    Task<AuditPage> ListAsync(AuditQuery query);

    /// <summary>
    /// A customer's timeline: the entries about the customer and about the contacts, deals and activities it has now, newest first, a page
    /// of <paramref name="pageSize"/> before <paramref name="beforeSeq"/>.
    /// </summary>
    [Alias("Timeline"), ReadOnly]
    Task<AuditPage> TimelineAsync(Guid customerId, int pageSize, long? beforeSeq);
}

/// <summary>
/// The tenant's audit writer could not commit (its chain kept moving under it, e.g. a second writer): nothing of the
/// change was committed; retry shortly. The API answers 503.
/// </summary>
[GenerateSerializer, Alias("AuditUnavailableException")]
public sealed class AuditUnavailableException : Exception
{
    public AuditUnavailableException()
    {
    }

    public AuditUnavailableException(string message)
        : base(message)
    {
    }

    public AuditUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
