using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Interfaces.Backups;

public static class BackupKinds
{
    public const string Full = "full";
    public const string Incremental = "incremental";

    public static bool IsValid(string? kind) => kind is Full or Incremental;
}

/// <summary>One file of a backup: a tenant's bundle (full export or increment) or the whole-database dump.</summary>
[GenerateSerializer, Immutable, Alias("BackupFile")]
public sealed record BackupFile(
    [property: Id(0)] string Name,
    [property: Id(1)] Guid? TenantId,
    [property: Id(2)] string Kind,
    [property: Id(3)] string Sha256,
    [property: Id(4)] long Bytes,
    [property: Id(5)] long? AuditSeq,
    [property: Id(6)] string? AuditHash,
    [property: Id(7)] long Users,
    [property: Id(8)] long Customers,
    [property: Id(9)] long DeletedCustomers,
    [property: Id(10)] long AuditLogs,
    [property: Id(11)] long Contacts,
    [property: Id(12)] long DeletedContacts,
    [property: Id(13)] long Deals,
    [property: Id(14)] long DeletedDeals,
    [property: Id(15)] long Activities = 0,
    [property: Id(16)] long DeletedActivities = 0);

/// <summary>A complete backup as listed: the files are in <see cref="BackupDetails"/>.</summary>
[GenerateSerializer, Immutable, Alias("BackupSummary")]
public sealed record BackupSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string Kind,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset CompletedAt,
    [property: Id(4)] string? Previous,
    [property: Id(5)] string Trigger,
    [property: Id(6)] int Tenants,
    [property: Id(7)] long Bytes,
    [property: Id(8)] string? DatabaseDump,
    [property: Id(9)] string? DatabaseDumpSkipped,
    [property: Id(10)] DateTimeOffset KeptUntil);

[GenerateSerializer, Immutable, Alias("BackupDetails")]
public sealed record BackupDetails(
    [property: Id(0)] BackupSummary Summary,
    [property: Id(1)] IReadOnlyList<BackupFile> Files);

public static class RestoreModes
{
    /// <summary>The bundle's tenant id must be free.</summary>
    public const string New = "new";

    /// <summary>An existing, not active tenant's rows are replaced atomically.</summary>
    public const string Replace = "replace";

    /// <summary>A sandbox copy under a new tenant id, with new admin e-mails and a fresh audit chain.</summary>
    public const string Clone = "clone";
}

/// <summary>What a restore did: the tenant as restored and the rows written.</summary>
[GenerateSerializer, Immutable, Alias("RestoreResult")]
public sealed record RestoreResult(
    [property: Id(0)] TenantDetails Tenant,
    [property: Id(1)] string Mode,
    [property: Id(2)] Guid SourceTenantId,
    [property: Id(3)] string? BackupId,
    [property: Id(4)] long Users,
    [property: Id(5)] long Customers,
    [property: Id(6)] long Overrides,
    [property: Id(7)] long AuditLogs,
    [property: Id(8)] long AuditSeq,
    [property: Id(9)] long Contacts,
    [property: Id(10)] long Deals,
    [property: Id(11)] long Activities = 0);

/// <summary>One tenant the retention purge looked at, and what it did.</summary>
[GenerateSerializer, Immutable, Alias("PurgeCandidate")]
public sealed record PurgeCandidate(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] string Name,
    [property: Id(2)] string Status,
    [property: Id(3)] DateTimeOffset RetentionUntil,
    [property: Id(4)] string Action,
    [property: Id(5)] string? Detail,
    [property: Id(6)] string? FinalExport);

[GenerateSerializer, Immutable, Alias("PurgeReport")]
public sealed record PurgeReport(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] bool DryRun,
    [property: Id(2)] int MaxTenants,
    [property: Id(3)] IReadOnlyList<PurgeCandidate> Tenants);

/// <summary>A page of deletion certificates, newest first, each the certificate's JSON text.</summary>
[GenerateSerializer, Immutable, Alias("DeletionPage")]
public sealed record DeletionPage(
    [property: Id(0)] IReadOnlyList<string> Certificates,
    [property: Id(1)] string? NextCursor);

/// <summary>
/// The cluster's backups (one activation, key "backups"): the schedule (an Orleans reminder whose ticks are
/// idempotent), runs on demand, the list, and restoring one tenant from a backup chain.
/// </summary>
[Alias("IBackupGrain")]
public interface IBackupGrain : IGrainWithStringKey
{
    /// <summary>Registers (or, when scheduling is off, removes) the reminder; idempotent.</summary>
    [Alias("Start")]
    Task StartAsync();

    /// <summary>Runs what the schedule says is due now (nothing when it already ran for this slot); the reminder calls it while scheduling is on.</summary>
    [Alias("Tick"), ResponseTimeout("06:00:00")]
    Task<BackupSummary?> TickAsync();

    [Alias("Run"), ResponseTimeout("06:00:00")]
    Task<Outcome<BackupSummary>> RunAsync(string kind);

    // Interleaves with a running backup: listing only reads complete backups' manifests.
    [Alias("List"), AlwaysInterleave]
    Task<IReadOnlyList<BackupSummary>> ListAsync();

    [Alias("Get"), AlwaysInterleave]
    Task<BackupDetails?> GetAsync(string id);

    /// <summary>
    /// Restores one tenant to its state in the backup (its full bundle plus the increments up to it); refused if it would
    /// exceed its plan unless <paramref name="ignoreQuotas"/> (recorded in the restore's audit entry).
    /// </summary>
    // Interleaves with a running backup: it reads complete backups only and writes one tenant.
    [Alias("Restore"), AlwaysInterleave, ResponseTimeout("06:00:00")]
    Task<Outcome<RestoreResult>> RestoreTenantAsync(string backupId, Guid tenantId, bool replace, bool ignoreQuotas = false);
}

/// <summary>
/// The retention purge (one activation, key "retention-purge"): finds canceled and deleted tenants whose retention
/// has ended, writes a final export, hard-deletes them; every hard delete leaves a deletion certificate.
/// </summary>
[Alias("IRetentionPurgeGrain")]
public interface IRetentionPurgeGrain : IGrainWithStringKey
{
    [Alias("Start")]
    Task StartAsync();

    /// <summary>One run now; <paramref name="dryRun"/> overrides the configured mode.</summary>
    [Alias("Run"), ResponseTimeout("06:00:00")]
    Task<PurgeReport> RunAsync(bool? dryRun);

    [Alias("ListDeletions"), AlwaysInterleave, ReadOnly]
    Task<DeletionPage> ListDeletionsAsync(int pageSize, string? cursor);
}
