using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Backups;

/// <summary>
/// Purges canceled and deleted tenants whose retention has ended: a final export into the backup directory first, then
/// the TenantGrain's own hard delete (without force, as the system), which issues the deletion certificate.
/// </summary>
[GrainType("retention-purge")]
public sealed class RetentionPurgeGrain(
    NpgsqlDataSource dataSource,
    TenantExporter exporter,
    BackupStore store,
    DeletionCertificates certificates,
    TimeProvider time,
    Security.CallerSigner signer,
    IOptions<PurgeOptions> options,
    ILogger<RetentionPurgeGrain> logger) : Grain, IRetentionPurgeGrain, IRemindable
{
    private const string Reminder = "retention-purge";

    public async Task StartAsync()
    {
        if (options.Value.Enabled)
        {
            await this.RegisterOrUpdateReminder(Reminder, options.Value.Interval, options.Value.Interval);
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
            await RunAsync(null);
        }
    }

    public async Task<PurgeReport> RunAsync(bool? dryRun)
    {
        if (Caller.Current is not { IsSuperAdmin: true } trigger)
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only super-admins run the retention purge.");
        }

        var origin = Caller.Origin;
        var dry = dryRun ?? options.Value.DryRun;
        var now = time.Now();
        var max = options.Value.MaxTenantsPerRun;
        var due = new List<(Guid Id, string Name, string Status, DateTimeOffset Until)>();
        await using (var read = dataSource.CreateCommand(
            """
            SELECT id, name, status, retention_until FROM tenants
            WHERE status IN ('canceled', 'deleted') AND retention_until <= $1
            ORDER BY retention_until, id LIMIT $2
            """))
        {
            read.Parameters.Add(new NpgsqlParameter { Value = now });
            read.Parameters.Add(new NpgsqlParameter { Value = max });
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                due.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
            }
        }

        var results = new List<PurgeCandidate>();
        foreach (var (id, name, status, until) in due)
        {
            if (dry)
            {
                results.Add(new PurgeCandidate(id, name, status, until, "would-purge", null, null));
                continue;
            }

            results.Add(await PurgeAsync(id, name, status, until, now));
            RequestContext.Clear();
            Caller.SetOrigin(origin.Ip, origin.UserAgent, origin.RequestId);
            signer.Enter(trigger);
        }

        if (results.Count > 0 || trigger.Role != Roles.System)
        {
            await GrainFactory.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant)).AppendAsync(new AuditDraft(
                "retention.purge_run", "tenant", null, Details: AuditChain.Details(new
                {
                    dryRun = dry,
                    maxTenants = max,
                    tenants = results.Select(r => new { id = r.TenantId, action = r.Action, detail = r.Detail }),
                })));
        }

        if (results.Count > 0)
        {
            logger.LogWarning("Retention purge{DryRun}: {Purged} purged, {Skipped} skipped, {Would} would be purged", dry ? " (dry run)" : "",
                results.Count(r => r.Action == "purged"), results.Count(r => r.Action == "skipped"), results.Count(r => r.Action == "would-purge"));
        }

        return new PurgeReport(now, dry, max, results);
    }

    public Task<DeletionPage> ListDeletionsAsync(int pageSize, string? cursor)
    {
        if (Caller.Current is not { IsSuperAdmin: true })
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only super-admins read deletion certificates.");
        }

        return certificates.ListAsync(pageSize, cursor);
    }

    private async Task<PurgeCandidate> PurgeAsync(Guid id, string name, string status, DateTimeOffset until, DateTimeOffset now)
    {
        var path = store.FinalExportPath(id, now);
        try
        {
            await using (var snapshot = await exporter.OpenAsync(id))
            {
                if (snapshot is null)
                {
                    return new PurgeCandidate(id, name, status, until, "skipped", "The tenant was removed meanwhile.", null);
                }

                await using var file = new FileStream(path, BackupStore.NewFile);
                await snapshot.WriteExportAsync(file, secrets: true);
            }

            RequestContext.Clear();
            signer.EnterSystem();
            var outcome = await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(id)).DeleteAsync(hardDelete: true, force: false);
            if (!outcome.Succeeded)
            {
                File.Delete(path);
                return new PurgeCandidate(id, name, status, until, "skipped", outcome.Detail, null);
            }

            // The TenantGrain forgets its users and audit writer; customers', contacts', deals', activities' and the pipeline's activations may
            // still hold their rows.
            await LiveGrains.ForgetAsync(GrainFactory, id);
            return new PurgeCandidate(id, name, status, until, "purged", null, Path.GetRelativePath(store.Root, path));
        }
        catch (Exception e) when (e is NpgsqlException or IOException or UnauthorizedAccessException or TimeoutException)
        {
            logger.LogError(e, "The retention purge of tenant {TenantId} failed", id);
            File.Delete(path);
            return new PurgeCandidate(id, name, status, until, "skipped", "The purge failed; see the server log.", null);
        }
    }
}
