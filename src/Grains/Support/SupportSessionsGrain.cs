using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Support;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Support;

/// <summary>
/// A tenant's support sessions and settings (<see cref="GrainKeys.SupportSessions"/>): their single writer, each change
/// audited in the tenant's log in the same transaction (and, for what a super-admin does, copied to the system log).
/// Who may do what is decided here from the signed caller: super-admins open and end sessions, never while the tenant
/// forbids support access; the tenant's admins, signed in as people (not an API key, not a support session), list and end
/// them and change the setting; any user of the tenant sees the active ones (the banner).
/// </summary>
[GrainType("support-sessions")]
public sealed class SupportSessionsGrain(TenantDatabase database, TimeProvider time) : Grain, ISupportSessionsGrain
{
    private Guid _tenantId;
    private List<SupportSessionDetails> _sessions = [];
    private TenantSettings _settings = new(true);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        (_sessions, _settings) = await database.ReadAsync(_tenantId,
            [
                TenantDatabase.Statement(
                    """
                    SELECT id, user_id, user_email, opened_by, opened_by_email, reason, created_at, expires_at, ended_at
                    FROM support_sessions ORDER BY created_at DESC, id
                    """),
                TenantDatabase.Statement("SELECT allow_support_access FROM tenant_settings"),
            ],
            async reader =>
            {
                var sessions = new List<SupportSessionDetails>();
                while (await reader.ReadAsync(cancellationToken))
                {
                    sessions.Add(new SupportSessionDetails(reader.GetGuid(0), _tenantId, reader.GetGuid(1), reader.GetString(2), reader.GetGuid(3),
                        reader.GetString(4), reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7),
                        reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8)));
                }

                await reader.NextResultAsync(cancellationToken);
                var settings = await reader.ReadAsync(cancellationToken) ? new TenantSettings(reader.GetBoolean(0)) : new TenantSettings(true);
                return (sessions, settings);
            }, cancellationToken: cancellationToken);
    }

    public async Task<Outcome<OpenedSupportSession>> OpenAsync(OpenSupportSessionRequest request)
    {
        if (Caller.Current is not { Role: Roles.SuperAdmin } caller || _tenantId == GrainKeys.SystemTenant)
        {
            return Outcome<OpenedSupportSession>.Fail(Failure.Forbidden, "Only a super-admin opens a support session.");
        }

        if (!_settings.AllowSupportAccess)
        {
            return Outcome<OpenedSupportSession>.Fail(Failure.SupportAccessDisabled, "This tenant has turned support access off.");
        }

        if ((SupportRules.ValidateReason(request.Reason) ?? SupportRules.ValidateMinutes(request.Minutes)) is { } invalid)
        {
            return Outcome<OpenedSupportSession>.Fail(Failure.Validation, invalid);
        }

        var user = await GrainFactory.GetGrain<IUserGrain>(GrainKeys.User(_tenantId, request.UserId)).GetAsync();
        if (user is null)
        {
            return Outcome<OpenedSupportSession>.Fail(Failure.NotFound, "No such user in this tenant.");
        }

        if (user.Disabled)
        {
            return Outcome<OpenedSupportSession>.Fail(Failure.Conflict, "This user is disabled; a support session cannot act as them.");
        }

        var now = time.Now();
        var session = new SupportSessionDetails(Guid.NewGuid(), _tenantId, user.Id, user.Email, caller.UserId, caller.Email ?? "", request.Reason.Trim(),
            now, now.AddMinutes(request.Minutes), null);
        var entry = new AuditDraft("support.session_opened", "support_session", session.Id.ToString("D"), Details: AuditChain.Details(new
        {
            userId = user.Id, userEmail = user.Email, reason = session.Reason, minutes = request.Minutes, expiresAt = session.ExpiresAt,
            tenantId = _tenantId,
        }));
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change(
        [
            AuditExtensions.Sql(
                """
                INSERT INTO support_sessions (tenant_id, id, user_id, user_email, opened_by, opened_by_email, reason, created_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """,
                _tenantId, session.Id, session.UserId, session.UserEmail, session.OpenedBy, session.OpenedByEmail, session.Reason, now, session.ExpiresAt),
        ], entry));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Opening the support session was refused by the database ({result.SqlState}).");
        }

        _sessions.Insert(0, session);
        await GrainFactory.AuditLog(GrainKeys.SystemTenant).AppendAsync(entry);
        return Outcome<OpenedSupportSession>.Ok(new OpenedSupportSession(session, user));
    }

    public Task<Outcome<IReadOnlyList<SupportSessionDetails>>> ListAsync() =>
        Task.FromResult(MayManage(superAdmins: true)
            ? Outcome<IReadOnlyList<SupportSessionDetails>>.Ok(_sessions)
            : Outcome<IReadOnlyList<SupportSessionDetails>>.Fail(Failure.Forbidden, "Only the tenant's admins, signed in as themselves, list support sessions."));

    public Task<IReadOnlyList<SupportSessionDetails>> ListActiveAsync()
    {
        var now = time.GetUtcNow();
        return Task.FromResult<IReadOnlyList<SupportSessionDetails>>(
            Caller.Current is { } caller && (caller.IsSuperAdmin || caller.TenantId == _tenantId)
                ? _sessions.Where(s => s.IsActiveAt(now)).ToList()
                : []);
    }

    public async Task<Outcome<SupportSessionDetails>> EndAsync(Guid sessionId)
    {
        if (!MayManage(superAdmins: true))
        {
            return Outcome<SupportSessionDetails>.Fail(Failure.Forbidden, "Only the tenant's admins, signed in as themselves, end support sessions.");
        }

        var index = _sessions.FindIndex(s => s.Id == sessionId);
        if (index < 0)
        {
            return Outcome<SupportSessionDetails>.Fail(Failure.NotFound, "No such support session.");
        }

        var now = time.Now();
        if (!_sessions[index].IsActiveAt(now))
        {
            return Outcome<SupportSessionDetails>.Ok(_sessions[index]);
        }

        await EndSessionsAsync([_sessions[index]], now, []);
        return Outcome<SupportSessionDetails>.Ok(_sessions[index]);
    }

    public Task<bool> IsActiveAsync(Guid sessionId) =>
        Task.FromResult(Caller.Current is { Role: Roles.System } && _settings.AllowSupportAccess &&
                        _sessions.Find(s => s.Id == sessionId) is { } session && session.IsActiveAt(time.GetUtcNow()));

    public Task<Outcome<TenantSettings>> GetSettingsAsync() =>
        Task.FromResult(MayManage(superAdmins: true)
            ? Outcome<TenantSettings>.Ok(_settings)
            : Outcome<TenantSettings>.Fail(Failure.Forbidden, "Only the tenant's admins see its settings."));

    public async Task<Outcome<TenantSettings>> SetSettingsAsync(TenantSettings settings)
    {
        if (!MayManage(superAdmins: false))
        {
            return Outcome<TenantSettings>.Fail(Failure.Forbidden, "Only the tenant's admins, signed in as themselves, change its settings.");
        }

        if (settings == _settings)
        {
            return Outcome<TenantSettings>.Ok(_settings);
        }

        var now = time.Now();
        var change = AuditExtensions.Sql(
            """
            INSERT INTO tenant_settings (tenant_id, allow_support_access, updated_at) VALUES ($1, $2, $3)
            ON CONFLICT (tenant_id) DO UPDATE SET allow_support_access = EXCLUDED.allow_support_access, updated_at = EXCLUDED.updated_at
            """,
            _tenantId, settings.AllowSupportAccess, now);
        var entry = new AuditDraft("tenant.settings_changed", "tenant", _tenantId.ToString("D"),
            Details: AuditChain.Details(new { allowSupportAccess = settings.AllowSupportAccess }));
        var active = settings.AllowSupportAccess ? [] : _sessions.Where(s => s.IsActiveAt(now)).ToList();
        await EndSessionsAsync(active, now, [change], entry);
        _settings = settings;
        return Outcome<TenantSettings>.Ok(_settings);
    }

    public Task ForgetAsync()
    {
        if (Caller.Current is { IsSuperAdmin: true, InPerson: true })
        {
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }

    /// <summary>Ends <paramref name="sessions"/> with <paramref name="statements"/> and <paramref name="entries"/> in one audited transaction.</summary>
    private async Task EndSessionsAsync(IReadOnlyList<SupportSessionDetails> sessions, DateTimeOffset now, SqlStatement[] statements, params AuditDraft[] entries)
    {
        var caller = Caller.Current!;
        var ends = sessions.Select(s => AuditExtensions.Sql("UPDATE support_sessions SET ended_at = $2, ended_by = $3 WHERE id = $1", s.Id, now, caller.UserId));
        var ended = sessions.Select(s => new AuditDraft("support.session_ended", "support_session", s.Id.ToString("D"),
            Details: AuditChain.Details(new { userId = s.UserId, userEmail = s.UserEmail, openedBy = s.OpenedByEmail, tenantId = _tenantId })));
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change([.. statements, .. ends], [.. entries, .. ended]));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Ending support sessions was refused by the database ({result.SqlState}).");
        }

        foreach (var session in sessions)
        {
            var index = _sessions.FindIndex(s => s.Id == session.Id);
            _sessions[index] = session with { EndedAt = now };
        }
    }

    private bool MayManage(bool superAdmins) => Caller.Current is { InPerson: true } caller &&
        (superAdmins && caller.IsSuperAdmin || caller.Role == Roles.TenantAdmin && caller.TenantId == _tenantId);
}
