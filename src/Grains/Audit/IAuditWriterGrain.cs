using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Grains.Audit;

/// <summary>
/// The audit log's statement-batch contract, internal to the grains: a grain hands the tenant's log writer the SQL of its
/// change to commit with the entries that record it. Never part of Grains.Interfaces: a cluster client sends typed
/// requests only, no SQL.
/// </summary>
[Alias("IAuditWriterGrain")]
internal interface IAuditWriterGrain : IAuditLogGrain
{
    /// <summary>Runs the change's statements and appends its entries in one transaction.</summary>
    [Alias("Execute")]
    Task<ChangeResult> ExecuteAsync(AuditedChange change);

    /// <summary>
    /// <see cref="ExecuteAsync"/> for a change of thousands of records (an import), which may take longer than a call's
    /// default 30 s: the caller must not give up on a change that then commits.
    /// </summary>
    [Alias("ExecuteLarge"), ResponseTimeout("00:05:00")]
    Task<ChangeResult> ExecuteLargeAsync(AuditedChange change);
}

/// <summary>One SQL statement of a change, run by the tenant's log writer in the transaction that records it.</summary>
[GenerateSerializer, Immutable, Alias("SqlStatement")]
internal sealed record SqlStatement(
    [property: Id(0)] string Sql,
    [property: Id(1)] object?[] Parameters);

/// <summary>
/// A change and the entries that record it: committed together or not at all. <see cref="Quota"/> is what it does to the
/// tenant's counted quotas: growth is reserved by the log before the batch runs (a refusal leaves the change out),
/// settled after it; shrinkage is applied once it commits.
/// </summary>
[GenerateSerializer, Immutable, Alias("AuditedChange")]
internal sealed record AuditedChange(
    [property: Id(0)] IReadOnlyList<SqlStatement> Statements,
    [property: Id(1)] IReadOnlyList<AuditDraft> Entries,
    [property: Id(2)] QuotaDelta? Quota = null);

/// <summary>
/// Whether the change committed; if not, the PostgreSQL error that refused it (constraint violations), or the quota
/// that refused it before it ran (<see cref="QuotaRefusal"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("ChangeResult")]
internal sealed record ChangeResult(
    [property: Id(0)] bool Committed,
    [property: Id(1)] string? SqlState,
    [property: Id(2)] string? Constraint,
    [property: Id(3)] IReadOnlyList<AuditEntry> Entries,
    [property: Id(4)] Reservation? QuotaRefusal = null);
