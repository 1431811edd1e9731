using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Backups;

/// <summary>
/// The record that a tenant's data is gone: who or what deleted it and why, the rows removed per table, and which
/// backups and final exports still hold the data and until when. Stored in <c>deletion_certificates</c> (system tenant)
/// together with a <c>tenant.deletion_certified</c> entry in the system log that carries the certificate's SHA-256.
/// </summary>
public sealed class DeletionCertificates(TenantDatabase database, BackupStore store, TimeProvider time, ILogger<DeletionCertificates> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The hook of the TenantGrain's hard delete: one line there, the rest here.</summary>
    public static Task ForPurgeAsync(IServiceProvider services, IGrainFactory grains, TenantDetails purged, IReadOnlyDictionary<string, long> removed) =>
        services.GetRequiredService<DeletionCertificates>().IssueAsync(grains, purged, removed);

    /// <summary>Issued by every hard delete, right after its rows are gone; a failure is logged, never thrown (the purge happened).</summary>
    public async Task IssueAsync(IGrainFactory grains, TenantDetails purged, IReadOnlyDictionary<string, long> removed)
    {
        try
        {
            var id = Guid.NewGuid();
            var now = time.Now();
            var caller = Caller.Current;
            var manifests = store.List();
            var kept = store.KeptUntil(manifests);
            var backups = manifests
                .Where(m => m.Files.Any(f => f.TenantId == purged.Id))
                .Select(m => new
                {
                    backupId = m.Id,
                    kind = m.Kind,
                    createdAt = m.CreatedAt,
                    keptUntil = kept[m.Id],
                    files = m.Files.Where(f => f.TenantId == purged.Id || f.Kind == "database").Select(f => f.Name).ToList(),
                })
                .ToList();
            var finals = store.FinalExports(purged.Id).Select(e => new { file = e.File, createdAt = e.CreatedAt, keptUntil = e.KeptUntil }).ToList();
            var heldUntil = backups.Select(b => (DateTimeOffset?)b.keptUntil).Concat(finals.Select(f => (DateTimeOffset?)f.keptUntil)).Max();
            var certificate = JsonSerializer.Serialize(new
            {
                id,
                tenantId = purged.Id,
                tenantName = purged.Name,
                tenantStatus = purged.Status.ToWire(),
                retentionUntil = purged.RetentionUntil,
                deletedAt = now,
                deletedBy = new { id = caller?.UserId == Guid.Empty ? null : caller?.UserId, email = caller?.Email, role = caller?.Role ?? Roles.System },
                reason = purged.RetentionUntil is { } until && now >= until && purged.Status is TenantStatus.Canceled or TenantStatus.Deleted
                    ? "retention-ended"
                    : "forced-before-retention-ended",
                rowsRemoved = removed,
                finalExports = finals,
                backups,
                dataHeldUntil = heldUntil,
            }, Json);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(certificate)));
            var result = await grains.AuditLog(GrainKeys.SystemTenant).ExecuteAsync(AuditExtensions.Change(
                [
                    AuditExtensions.Sql(
                        "INSERT INTO deletion_certificates (id, tenant_id, tenant_name, deleted_at, certificate) VALUES ($1, $2, $3, $4, $5)",
                        id, purged.Id, purged.Name, now, certificate),
                ],
                new AuditDraft("tenant.deletion_certified", "tenant", purged.Id.ToString("D"),
                    Details: AuditChain.Details(new { certificateId = id, sha256 }))));
            if (!result.Committed)
            {
                logger.LogError("The deletion certificate of tenant {TenantId} was refused by the database ({SqlState})", purged.Id, result.SqlState);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "No deletion certificate could be issued for the purge of tenant {TenantId}", purged.Id);
        }
    }

    /// <summary>Certificates, newest first; the cursor is where the previous page ended.</summary>
    public async Task<DeletionPage> ListAsync(int pageSize, string? cursor)
    {
        var after = ParseCursor(cursor);
        await using var transaction = await database.BeginAsync(GrainKeys.SystemTenant);
        await using var read = after is { } position
            ? transaction.Command(
                "SELECT certificate, deleted_at, id FROM deletion_certificates WHERE (deleted_at, id) < ($1, $2) ORDER BY deleted_at DESC, id DESC LIMIT $3",
                position.At, position.Id, pageSize + 1)
            : transaction.Command("SELECT certificate, deleted_at, id FROM deletion_certificates ORDER BY deleted_at DESC, id DESC LIMIT $1", pageSize + 1);
        await using var reader = await read.ExecuteReaderAsync();
        var items = new List<(string Certificate, DateTimeOffset At, Guid Id)>();
        while (await reader.ReadAsync())
        {
            items.Add((reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetGuid(2)));
        }

        if (items.Count <= pageSize)
        {
            return new DeletionPage(items.Select(i => i.Certificate).ToList(), null);
        }

        var last = items[pageSize - 1];
        return new DeletionPage(items.Take(pageSize).Select(i => i.Certificate).ToList(),
            $"{last.At.UtcTicks.ToString(CultureInfo.InvariantCulture)}.{last.Id:N}");
    }

    public static bool IsCursor(string? cursor) => cursor is null || ParseCursor(cursor) is not null;

    private static (DateTimeOffset At, Guid Id)? ParseCursor(string? cursor)
    {
        var parts = cursor?.Split('.');
        return parts is [var ticks, var id] && long.TryParse(ticks, NumberStyles.None, CultureInfo.InvariantCulture, out var t) &&
            t is >= 0 and <= 3155378975999999999 && Guid.TryParseExact(id, "N", out var g)
            ? (new DateTimeOffset(t, TimeSpan.Zero), g)
            : null;
    }
}
