using Cronos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Backups;

/// <summary>
/// Full backups (every tenant's export bundle plus a whole-database dump) and incremental ones (per tenant, the changes
/// since the previous backup), on a cron schedule or on demand. The schedule's next due times are grain state: a
/// reminder ticks every minute and a tick runs only what is due, so repeated or late ticks never run a slot twice.
/// </summary>
[GrainType("backups")]
public sealed class BackupGrain(
    [PersistentState("backup-schedule", "shohayota")] IPersistentState<BackupScheduleState> schedule,
    NpgsqlDataSource dataSource,
    TenantExporter exporter,
    TenantRestorer restorer,
    BackupStore store,
    DatabaseDump dump,
    TimeProvider time,
    Security.CallerSigner signer,
    IOptions<BackupOptions> options,
    IOptions<BenchmarkOptions> benchmark,
    ILogger<BackupGrain> logger) : Grain, IBackupGrain, IRemindable
{
    private const string Reminder = "backup-schedule";

    /// <summary>An increment is read from the audit log, which this node's benchmark switch leaves without customer changes.</summary>
    private const string AuditOffRefusal =
        "Incremental backups are refused while Shohayota:Benchmark:AuditOff=true: an increment is what the audit log recorded since the " +
        "previous backup, and customer changes on this node write no audit entry. Run a full backup, or restart the node without the switch.";

    public async Task StartAsync()
    {
        if (options.Value.Enabled)
        {
            await PlanAsync(time.GetUtcNow());
            await this.RegisterOrUpdateReminder(Reminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }
        else if (await this.GetReminder(Reminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        signer.EnterSystem();
        if (options.Value.Enabled)
        {
            await TickAsync();
        }
    }

    public async Task<BackupSummary?> TickAsync()
    {
        var now = time.GetUtcNow();
        await PlanAsync(now);
        var state = schedule.State;
        var kind = now >= state.NextFull ? BackupKinds.Full : now >= state.NextIncremental ? BackupKinds.Incremental : null;
        if (kind is null)
        {
            return null;
        }

        BackupSummary? summary = null;
        try
        {
            summary = kind == BackupKinds.Incremental && benchmark.Value.AuditOff ? await RefuseIncrementalAsync() : await RunCoreAsync(kind, "schedule");
        }
        catch (Exception e) when (e is NpgsqlException or IOException or UnauthorizedAccessException or TimeoutException)
        {
            // The slot is done either way: the next one retries, rather than every minute until the cause is fixed.
            logger.LogError(e, "The scheduled {Kind} backup failed", kind);
            await AuditLog.AppendAsync(new AuditDraft("backup.failed", "backup", null, AuditOutcomes.Failed,
                AuditChain.Details(new { kind, error = e.GetType().Name })));
        }

        // A full backup also takes the place of an incremental one due at the same time.
        state.NextIncremental = Next(options.Value.IncrementalSchedule, now);
        if (kind == BackupKinds.Full)
        {
            state.NextFull = Next(options.Value.FullSchedule, now);
        }

        await schedule.WriteStateAsync();
        return summary;
    }

    public async Task<Outcome<BackupSummary>> RunAsync(string kind)
    {
        if (Caller.Current is not { IsSuperAdmin: true } caller)
        {
            return Outcome<BackupSummary>.Fail(Failure.Forbidden, "Only super-admins run backups.");
        }

        if (!BackupKinds.IsValid(kind))
        {
            return Outcome<BackupSummary>.Fail(Failure.Validation, "kind must be \"full\" or \"incremental\".");
        }

        if (kind == BackupKinds.Incremental && benchmark.Value.AuditOff)
        {
            return Outcome<BackupSummary>.Fail(Failure.Conflict, AuditOffRefusal);
        }

        return Outcome<BackupSummary>.Ok(await RunCoreAsync(kind, caller.Email ?? caller.Role));
    }

    public Task<IReadOnlyList<BackupSummary>> ListAsync()
    {
        var manifests = store.List();
        var kept = store.KeptUntil(manifests);
        return Task.FromResult<IReadOnlyList<BackupSummary>>(manifests.Reverse().Select(m => Summary(m, kept[m.Id])).ToList());
    }

    public Task<BackupDetails?> GetAsync(string id)
    {
        var manifests = store.List();
        var manifest = manifests.FirstOrDefault(m => m.Id == id);
        return Task.FromResult(manifest is null ? null : new BackupDetails(Summary(manifest, store.KeptUntil(manifests)[id]), manifest.Files));
    }

    public async Task<Outcome<RestoreResult>> RestoreTenantAsync(string backupId, Guid tenantId, bool replace, bool ignoreQuotas = false)
    {
        if (Caller.Current is not { IsSuperAdmin: true })
        {
            return Outcome<RestoreResult>.Fail(Failure.Forbidden, "Only super-admins restore tenants.");
        }

        var manifests = store.List().ToDictionary(m => m.Id, StringComparer.Ordinal);
        if (!manifests.TryGetValue(backupId, out var current))
        {
            return Outcome<RestoreResult>.Fail(Failure.NotFound, "No such backup.");
        }

        // Back from the chosen backup to the tenant's last full bundle: the files to apply, oldest first.
        var chain = new List<(BackupManifest Backup, BackupFile File)>();
        while (true)
        {
            var file = current.Files.FirstOrDefault(f => f.TenantId == tenantId);
            if (file is null)
            {
                return chain.Count == 0
                    ? Outcome<RestoreResult>.Fail(Failure.NotFound, $"Tenant {tenantId} is not in backup {backupId}.")
                    : Outcome<RestoreResult>.Fail(Failure.Conflict, $"The chain of backups is broken: backup {current.Id} holds nothing of tenant {tenantId}.");
            }

            chain.Insert(0, (current, file));
            if (file.Kind == BackupKinds.Full)
            {
                break;
            }

            if (current.Previous is not { } previous || !manifests.TryGetValue(previous, out current))
            {
                return Outcome<RestoreResult>.Fail(Failure.Conflict,
                    $"The chain of backups is broken: backup {chain[0].Backup.Id} continues backup {chain[0].Backup.Previous}, which is gone.");
            }
        }

        var paths = new List<string>();
        foreach (var (backup, file) in chain)
        {
            var path = store.PathOf(backup.Id, file.Name);
            if (!File.Exists(path) || await BundleChecksum.FileSha256Async(path) != file.Sha256)
            {
                return Outcome<RestoreResult>.Fail(Failure.Validation,
                    $"Backup {backup.Id}: {file.Name} is missing or does not match the SHA-256 in its manifest; it was changed or damaged.");
            }

            paths.Add(path);
        }

        return await restorer.RestoreAsync(new RestoreRequest(paths, replace ? RestoreModes.Replace : RestoreModes.New, tenantId, BackupId: backupId,
            IgnoreQuotas: ignoreQuotas));
    }

    private async Task<BackupSummary?> RefuseIncrementalAsync()
    {
        logger.LogError("The scheduled incremental backup did not run: {Reason}", AuditOffRefusal);
        await AuditLog.AppendAsync(new AuditDraft("backup.failed", "backup", null, AuditOutcomes.Failed,
            AuditChain.Details(new { kind = BackupKinds.Incremental, error = "AuditOff" })));
        return null;
    }

    private IAuditLogGrain AuditLog => GrainFactory.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant));

    private async Task<BackupSummary> RunCoreAsync(string kind, string trigger)
    {
        var now = time.Now();
        var backups = store.List();
        // An older backup's bundles lack record types that already existed then (version 1: contacts, version 2: the pipeline and
        // deals, version 3: activities); changes since it would miss them.
        var previous = kind == BackupKinds.Incremental && backups.Count > 0 && backups[^1].Version == BackupManifest.CurrentVersion ? backups[^1] : null;
        if (kind == BackupKinds.Incremental && previous is null)
        {
            logger.LogInformation("No backup of version {Version} to continue from: the incremental backup is a full one", BackupManifest.CurrentVersion);
            kind = BackupKinds.Full;
        }

        var id = store.NewId(now, kind);
        var temporary = store.Begin(id);
        BackupManifest manifest;
        try
        {
            var before = previous?.Files.Where(f => f.TenantId is not null).ToDictionary(f => f.TenantId!.Value);
            var files = new List<BackupFile>();
            foreach (var tenantId in await TenantIdsAsync())
            {
                await using var snapshot = await exporter.OpenAsync(tenantId);
                if (snapshot is null)
                {
                    continue;
                }

                var name = $"tenants/{tenantId:D}.json";
                BundleResult result;
                await using (var file = new FileStream(Path.Combine(temporary, name), BackupStore.NewFile))
                {
                    var since = before is not null && before.TryGetValue(tenantId, out var last) && last.AuditSeq is { } seq &&
                        last.AuditHash is { } hex && BundleFormat.TryParseHex(hex, 32, out var hash)
                        ? new BundleBase(previous!.Id, seq, hash)
                        : null;
                    result = since is not null && await snapshot.CanContinueFromAsync(since)
                        ? await snapshot.WriteIncrementAsync(file, since)
                        : await snapshot.WriteExportAsync(file, secrets: true);
                }

                files.Add(new BackupFile(name, tenantId, result.Format == BundleFormat.Export ? BackupKinds.Full : BackupKinds.Incremental,
                    result.FileSha256, result.Bytes, result.AuditSeq, BundleFormat.Hex(result.AuditHash), result.Counts.Users,
                    result.Counts.Customers, result.Counts.DeletedCustomers, result.Counts.AuditLogs, result.Counts.Contacts, result.Counts.DeletedContacts,
                    result.Counts.Deals, result.Counts.DeletedDeals, result.Counts.Activities, result.Counts.DeletedActivities));
            }

            string? skipped = null;
            if (kind == BackupKinds.Full)
            {
                var path = Path.Combine(temporary, "database.dump");
                skipped = await dump.WriteAsync(path);
                if (skipped is null)
                {
                    files.Add(new BackupFile("database.dump", null, "database", await BundleChecksum.FileSha256Async(path), new FileInfo(path).Length,
                        null, null, 0, 0, 0, 0, 0, 0, 0, 0));
                }
            }

            await AuditAnchors.AnchorAsync(dataSource, $"backup {id}");
            manifest = new BackupManifest(BackupManifest.FormatName, BackupManifest.CurrentVersion, id, kind, now, time.Now(), previous?.Id, trigger, files, skipped);
            await store.CompleteAsync(temporary, manifest, CancellationToken.None);
        }
        catch
        {
            BackupStore.Abandon(temporary);
            throw;
        }

        var deleted = store.Sweep(time.GetUtcNow());
        var summary = Summary(manifest, store.KeptUntil(store.List()).GetValueOrDefault(id, manifest.CreatedAt.AddDays(options.Value.RetentionDays)));
        await AuditLog.AppendAsync(new AuditDraft("backup.completed", "backup", id, Details: AuditChain.Details(new
        {
            kind,
            previous = previous?.Id,
            trigger,
            tenants = summary.Tenants,
            bytes = summary.Bytes,
            databaseDump = summary.DatabaseDump is not null,
            databaseDumpSkipped = summary.DatabaseDumpSkipped,
            deletedBackups = deleted,
        })));
        logger.LogInformation("Backup {Backup} complete: {Tenants} tenants, {Bytes} bytes", id, summary.Tenants, summary.Bytes);
        return summary;
    }

    private async Task<List<Guid>> TenantIdsAsync()
    {
        var ids = new List<Guid>();
        await using var read = dataSource.CreateCommand("SELECT id FROM tenants ORDER BY id");
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private async Task PlanAsync(DateTimeOffset now)
    {
        var state = schedule.State;
        var o = options.Value;
        if (state.NextFull is not null && state.FullSchedule == o.FullSchedule && state.NextIncremental is not null && state.IncrementalSchedule == o.IncrementalSchedule)
        {
            return;
        }

        // First start, or the schedule changed: the next slots are in the future; nothing is caught up.
        if (state.NextFull is null || state.FullSchedule != o.FullSchedule)
        {
            state.NextFull = Next(o.FullSchedule, now);
            state.FullSchedule = o.FullSchedule;
        }

        if (state.NextIncremental is null || state.IncrementalSchedule != o.IncrementalSchedule)
        {
            state.NextIncremental = Next(o.IncrementalSchedule, now);
            state.IncrementalSchedule = o.IncrementalSchedule;
        }

        await schedule.WriteStateAsync();
    }

    private static DateTimeOffset Next(string cron, DateTimeOffset now) =>
        CronExpression.Parse(cron).GetNextOccurrence(now, TimeZoneInfo.Utc) ?? DateTimeOffset.MaxValue;

    private static BackupSummary Summary(BackupManifest m, DateTimeOffset keptUntil)
    {
        var dump = m.Files.FirstOrDefault(f => f.Kind == "database");
        return new BackupSummary(m.Id, m.Kind, m.CreatedAt, m.CompletedAt, m.Previous, m.Trigger, m.Files.Count(f => f.TenantId is not null),
            m.Files.Sum(f => f.Bytes), dump?.Name, m.DatabaseDumpSkipped, keptUntil);
    }
}

[GenerateSerializer, Alias("BackupScheduleState")]
public sealed class BackupScheduleState
{
    [Id(0)]
    public DateTimeOffset? NextFull { get; set; }

    [Id(1)]
    public DateTimeOffset? NextIncremental { get; set; }

    [Id(2)]
    public string? FullSchedule { get; set; }

    [Id(3)]
    public string? IncrementalSchedule { get; set; }
}
