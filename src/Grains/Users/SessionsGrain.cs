using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Users;

// Stateless worker: one primary-key read per check (the UI's cookies, every few seconds per node), run where the caller is.
[StatelessWorker, GrainType("sessions")]
public sealed class SessionsGrain(TenantDatabase database, TimeProvider time, ILogger<SessionsGrain> logger) : Grain, ISessionsGrain
{
    private Guid TenantId => GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;

    public async Task<bool> IsActiveAsync(Guid tokenId, string secret)
    {
        if (Caller.Current is not { } caller || caller.TenantId != TenantId)
        {
            return false;
        }

        // A UI session never rotates its token, so only a live one (not revoked, not expired) keeps the cookie.
        return await RefreshTokenDirectoryGrain.ReadAsync(database, time, TenantId, caller.UserId, tokenId, secret) == RefreshTokenStatus.Live;
    }

    public async Task<Outcome<int>> RevokeAllAsync()
    {
        if (Caller.Current is not { IsSuperAdmin: true })
        {
            return Outcome<int>.Fail(Failure.Forbidden, "Only super-admins sign out a whole tenant.");
        }

        if (await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(TenantId)).GetAsync() is null)
        {
            return Outcome<int>.Fail(Failure.NotFound, "No such tenant.");
        }

        var now = time.Now();
        var sessions = await database.InTransactionAsync(TenantId, async transaction =>
        {
            await using var count = transaction.Command(
                "SELECT count(DISTINCT family_id) FROM refresh_tokens WHERE revoked_at IS NULL AND expires_at > $1", now);
            return Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        });
        var entry = new AuditDraft("tenant.sessions_revoked", "tenant", TenantId.ToString("D"), Details: AuditChain.Details(new { sessions }));
        var result = await GrainFactory.AuditLog(TenantId).ExecuteAsync(AuditExtensions.Change(
            [AuditExtensions.Sql("UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL", now)], entry));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Revoking the tenant's sessions was refused by the database ({result.SqlState}).");
        }

        if (TenantId != GrainKeys.SystemTenant)
        {
            await GrainFactory.AuditLog(GrainKeys.SystemTenant).AppendAsync(entry);
        }

        logger.LogInformation("Every session of tenant {TenantId} was revoked ({Sessions} active)", TenantId, sessions);
        return Outcome<int>.Ok(sessions);
    }
}
