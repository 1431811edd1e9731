using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Users;

[GrainType("user")]
public sealed class UserGrain(
    TenantDatabase database,
    TimeProvider time,
    IOptions<AuthOptions> options,
    IOptions<SignInLimitsOptions> limits,
    PasswordHashGate hashGate,
    CallerSigner signer,
    ILogger<UserGrain> logger) : Grain, IUserGrain
{
    private Guid _tenantId;
    private Guid _userId;
    private UserRow? _row;
    private SignInGuard? _guard;

    private string Key => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantId, _userId) = GrainKeys.Split(Key);
        await using var transaction = await database.BeginAsync(_tenantId, cancellationToken);
        await using var read = transaction.Command(
            "SELECT email, name, role, password_hash, disabled, created_at FROM users WHERE id = $1",
            _userId);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            _row = new UserRow(
                new UserDetails(_userId, _tenantId, reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(4),
                    reader.GetFieldValue<DateTimeOffset>(5)),
                reader.GetString(3));
        }
    }

    public Task<UserDetails?> GetAsync() => Task.FromResult(_row?.Details);

    public async Task<Outcome<UserDetails>> CreateAsync(CreateUserRequest request)
    {
        var caller = Caller.Current;
        // A tenant's admin in person only: an admin API key or a support session would otherwise leave behind an account
        // that signs in, manages keys and webhooks, and outlives the key's revocation or the session's end.
        var mayCreate = caller is { IsSuperAdmin: true } && (request.Role == Roles.SuperAdmin) == (_tenantId == GrainKeys.SystemTenant)
            || caller is { Role: Roles.TenantAdmin, InPerson: true } && caller.TenantId == _tenantId && Roles.IsTenantRole(request.Role);
        if (!mayCreate)
        {
            return Outcome<UserDetails>.Fail(Failure.Forbidden, "You may not create this user.");
        }

        if (_row is not null)
        {
            return Outcome<UserDetails>.Fail(Failure.Conflict, "This user already exists.");
        }

        var invalid = Validation.Email(request.Email) ?? Validation.Name(request.Name) ?? PasswordHashing.Validate(request.Password, request.Email);
        if (invalid is not null)
        {
            return Outcome<UserDetails>.Fail(Failure.Validation, invalid);
        }

        var now = time.Now();
        var details = new UserDetails(_userId, _tenantId, request.Email.Trim(), request.Name.Trim(), request.Role, false, now);
        var hash = PasswordHashing.Hash(request.Password, options.Value.PasswordHashIterations);
        // The log reserves the user's room with its batch and settles it after the commit (a refusal leaves nothing written).
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change(
        [
            AuditExtensions.Sql(
                """
                INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                """,
                _tenantId, _userId, details.Email, details.Name, details.Role, hash, now),
        ],
        new QuotaDelta(0, 1, TenantMeter.UserBytes(details.Email, details.Name)),
        new AuditDraft("user.created", "user", _userId.ToString("D"),
            Details: AuditChain.Details(new { email = details.Email, name = details.Name, role = details.Role }))));
        if (result.QuotaRefusal is { } refused)
        {
            return Outcome<UserDetails>.QuotaExceeded(refused);
        }

        if (!result.Committed)
        {
            return result.Constraint == "users_tenant_email_key"
                ? Outcome<UserDetails>.Fail(Failure.DuplicateEmail, "A user of this tenant already has this e-mail address.")
                : throw new InvalidOperationException($"Creating the user was refused by the database ({result.SqlState}).");
        }

        _row = new UserRow(details, hash);
        return Outcome<UserDetails>.Ok(details);
    }

    public async Task<Outcome<SignIn>> SignInAsync(string password, string? address)
    {
        var now = time.Now();
        var from = SignInAddress.Normalize(address);
        if (_row is null)
        {
            var (ranDummy, _) = await hashGate.RunAsync(() =>
            {
                PasswordHashing.VerifyAgainstDummy(password, options.Value.PasswordHashIterations);
                return false;
            });
            return ranDummy ? InvalidCredentials<SignIn>() : hashGate.Busy<SignIn>();
        }

        var check = Guard.Check(from, now);
        if (check.Verdict != SignInVerdict.Allowed)
        {
            // Refused before any hash and without an audit row: the lockout itself was audited once when it began.
            return check.Refusal<SignIn>(InvalidCredentialsDetail);
        }

        var (ran, verified) = await hashGate.RunAsync(() => PasswordHashing.Verify(password, _row.PasswordHash));
        if (!ran)
        {
            return hashGate.Busy<SignIn>();
        }

        if (!verified)
        {
            return await FailSignInAsync(from, now);
        }

        if (await RefuseAsync() is { } refusal)
        {
            await GrainFactory.AuditLog(_tenantId).AppendAsync(
                new AuditDraft("auth.login_failed", "user", _userId.ToString("D"), AuditOutcomes.Denied, AuditChain.Details(new { reason = refusal.Failure.ToString() })));
            return refusal.As<SignIn>();
        }

        Guard.RecordSuccess(from, now);
        await AuditSignInAsync([new AuditDraft("auth.login_succeeded", "user", _userId.ToString("D"))]);
        return Outcome<SignIn>.Ok(new SignIn(_row.Details, await IssueAsync(Guid.NewGuid(), replacing: null)));
    }

    public async Task<Outcome<bool>> CheckPasswordAsync(string password, string? address)
    {
        RequireSystemCaller();
        if (_row is null)
        {
            var (ranDummy, _) = await hashGate.RunAsync(() =>
            {
                PasswordHashing.VerifyAgainstDummy(password, options.Value.PasswordHashIterations);
                return false;
            });
            return ranDummy ? Outcome<bool>.Ok(false) : hashGate.Busy<bool>();
        }

        var check = Guard.Check(SignInAddress.Normalize(address), time.Now());
        if (check.Verdict != SignInVerdict.Allowed)
        {
            return check.Refusal<bool>(InvalidCredentialsDetail);
        }

        var (ran, verified) = await hashGate.RunAsync(() => PasswordHashing.Verify(password, _row.PasswordHash));
        return ran ? Outcome<bool>.Ok(verified) : hashGate.Busy<bool>();
    }

    public async Task RecordFailedSignInAsync(string? address)
    {
        RequireSystemCaller();
        var now = time.Now();
        var from = SignInAddress.Normalize(address);
        if (_row is not null && Guard.Check(from, now).Verdict == SignInVerdict.Allowed)
        {
            await FailSignInAsync(from, now);
        }
    }

    public async Task RecordRejectedPasswordAsync(string? address)
    {
        RequireSystemCaller();
        var now = time.Now();
        var from = SignInAddress.Normalize(address);
        if (_row is null || Guard.Check(from, now).Verdict != SignInVerdict.Allowed || !Guard.RecordFailure(from, now))
        {
            return;
        }

        // Silent but for a lockout, which the tenant sees as after any other run of failures from one address.
        var lockedUntil = now.Add(options.Value.LockoutDuration);
        await AuditSignInAsync([new AuditDraft("auth.locked_out", "user", _userId.ToString("D"), AuditOutcomes.Denied,
            AuditChain.Details(new { address = from, lockedUntil }))]);
        logger.LogWarning("User {UserId} of tenant {TenantId} is locked out for address {Address} until {Until}", _userId, _tenantId, from, lockedUntil);
    }

    public async Task<Outcome<SignIn>> RefreshAsync(Guid tokenId, string secret)
    {
        if (_row is null)
        {
            return InvalidToken<SignIn>();
        }

        await using var transaction = await database.BeginAsync(_tenantId);
        await using (var read = transaction.Command(
            "SELECT family_id, secret_hash, expires_at, consumed_at, revoked_at FROM refresh_tokens WHERE id = $1 AND user_id = $2 FOR UPDATE",
            tokenId, _userId))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync() || !CryptographicOperations.FixedTimeEquals(reader.GetFieldValue<byte[]>(1), HashSecret(secret)))
            {
                return InvalidToken<SignIn>();
            }

            var family = reader.GetGuid(0);
            var expired = reader.GetFieldValue<DateTimeOffset>(2) <= time.Now();
            var consumed = !reader.IsDBNull(3);
            var revoked = !reader.IsDBNull(4);
            await reader.CloseAsync();
            if (consumed && !revoked)
            {
                await transaction.ExecuteAsync("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL", family, time.Now());
                await transaction.CommitAsync();
                await GrainFactory.AuditLog(_tenantId).AppendAsync(new AuditDraft(
                    "auth.refresh_token_reused", "user", _userId.ToString("D"), AuditOutcomes.Denied, AuditChain.Details(new { family })));
                logger.LogWarning("Refresh token reuse for user {UserId} of tenant {TenantId}: family {Family} revoked", _userId, _tenantId, family);
                return InvalidToken<SignIn>();
            }

            if (revoked || expired)
            {
                return InvalidToken<SignIn>();
            }

            if (await RefuseAsync() is { } refusal)
            {
                return refusal.As<SignIn>();
            }

            await transaction.ExecuteAsync("UPDATE refresh_tokens SET consumed_at = $2 WHERE id = $1", tokenId, time.Now());
            var issued = await IssueAsync(family, transaction);
            await transaction.CommitAsync();
            return Outcome<SignIn>.Ok(new SignIn(_row.Details, issued));
        }
    }

    public async Task RevokeAsync(Guid tokenId, string secret)
    {
        await using var transaction = await database.BeginAsync(_tenantId);
        await using (var read = transaction.Command("SELECT family_id, secret_hash FROM refresh_tokens WHERE id = $1 AND user_id = $2", tokenId, _userId))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync() || !CryptographicOperations.FixedTimeEquals(reader.GetFieldValue<byte[]>(1), HashSecret(secret)))
            {
                return;
            }

            var family = reader.GetGuid(0);
            await reader.CloseAsync();
            await transaction.ExecuteAsync("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL", family, time.Now());
        }

        await transaction.CommitAsync();
        await GrainFactory.AuditLog(_tenantId).AppendAsync(new AuditDraft("auth.logout", "user", _userId.ToString("D")));
    }

    public async Task<Outcome<UserDetails>> SetDisabledAsync(bool disabled)
    {
        var caller = Caller.Current;
        if (_row is null || caller is null || !(caller.IsSuperAdmin || caller.Role == Roles.TenantAdmin && caller.TenantId == _tenantId))
        {
            return Outcome<UserDetails>.Fail(Failure.NotFound, "No such user.");
        }

        if (!caller.IsSuperAdmin && !caller.InPerson)
        {
            // Locking the tenant's people out (or letting one back in) is a person's decision, not a key's or a support session's.
            return Outcome<UserDetails>.Fail(Failure.Forbidden, "Only a tenant admin signed in as themselves enables or disables users.");
        }

        if (caller.UserId == _userId && disabled)
        {
            return Outcome<UserDetails>.Fail(Failure.Conflict, "You cannot disable your own account.");
        }

        if (_row.Details.Disabled != disabled)
        {
            var now = time.Now();
            var statements = new List<SqlStatement> { AuditExtensions.Sql("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1", _userId, disabled, now) };
            if (disabled)
            {
                statements.Add(AuditExtensions.Sql("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", _userId, now));
            }

            var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(new AuditedChange(statements,
                [new AuditDraft(disabled ? "user.disabled" : "user.enabled", "user", _userId.ToString("D"), Details: AuditChain.Details(new { email = _row.Details.Email }))]));
            if (!result.Committed)
            {
                throw new InvalidOperationException($"Changing the user was refused by the database ({result.SqlState}).");
            }

            _row = _row with { Details = _row.Details with { Disabled = disabled } };
        }

        await ReportStatusAsync(disabled);
        return Outcome<UserDetails>.Ok(_row.Details);
    }

    public async Task<Outcome<SignIn>> ChangePasswordAsync(string currentPassword, string newPassword)
    {
        if (_row is null || Caller.Current is not { } caller || caller.UserId != _userId || caller.TenantId != _tenantId)
        {
            return Outcome<SignIn>.Fail(Failure.NotFound, "No such user.");
        }

        // The current password is guessed like a sign-in: the same per-(account, address) delay and lockout, the same gate.
        var now = time.Now();
        var from = SignInAddress.Normalize(Caller.Origin.Ip);
        var check = Guard.Check(from, now);
        if (check.Verdict != SignInVerdict.Allowed)
        {
            return check.Refusal<SignIn>(InvalidCredentialsDetail);
        }

        var (ran, verified) = currentPassword.Length > PasswordHashing.MaxLength
            ? (true, false)
            : await hashGate.RunAsync(() => PasswordHashing.Verify(currentPassword, _row.PasswordHash));
        if (!ran)
        {
            return hashGate.Busy<SignIn>();
        }

        if (!verified)
        {
            var entries = new List<AuditDraft>
            {
                new("user.password_change_failed", "user", _userId.ToString("D"), AuditOutcomes.Denied, AuditChain.Details(new { reason = "wrong current password" })),
            };
            if (Guard.RecordFailure(from, now))
            {
                entries.Add(new AuditDraft("auth.locked_out", "user", _userId.ToString("D"), AuditOutcomes.Denied,
                    AuditChain.Details(new { address = from, lockedUntil = now.Add(options.Value.LockoutDuration) })));
            }

            await AuditSignInAsync(entries);
            return InvalidCredentials<SignIn>();
        }

        var invalid = PasswordHashing.Validate(newPassword, _row.Details.Email)
            ?? (newPassword == currentPassword ? "The new password must differ from the current one." : null);
        if (invalid is not null)
        {
            return Outcome<SignIn>.Fail(Failure.Validation, invalid);
        }

        if (await RefuseAsync() is { } refusal)
        {
            return refusal.As<SignIn>();
        }

        var (hashed, hash) = await hashGate.RunAsync(() => PasswordHashing.Hash(newPassword, options.Value.PasswordHashIterations));
        if (!hashed)
        {
            return hashGate.Busy<SignIn>();
        }

        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change(
            [
                AuditExtensions.Sql("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", _userId, hash, now),
                AuditExtensions.Sql("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", _userId, now),
            ],
            new AuditDraft("user.password_changed", "user", _userId.ToString("D"), Details: AuditChain.Details(new { sessionsRevoked = true }))));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Changing the password was refused by the database ({result.SqlState}).");
        }

        _row = _row with { PasswordHash = hash };
        return Outcome<SignIn>.Ok(new SignIn(_row.Details, await IssueAsync(Guid.NewGuid(), replacing: null)));
    }

    public async Task<Outcome<UserDetails>> RevokeSessionsAsync()
    {
        var caller = Caller.Current;
        if (_row is null || caller is null ||
            !(caller.IsSuperAdmin || caller.TenantId == _tenantId && (caller.UserId == _userId || caller.Role == Roles.TenantAdmin)))
        {
            return Outcome<UserDetails>.Fail(Failure.NotFound, "No such user.");
        }

        var now = time.Now();
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change(
            [AuditExtensions.Sql("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", _userId, now)],
            new AuditDraft("user.sessions_revoked", "user", _userId.ToString("D"), Details: AuditChain.Details(new { email = _row.Details.Email }))));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Revoking the user's sessions was refused by the database ({result.SqlState}).");
        }

        return Outcome<UserDetails>.Ok(_row.Details);
    }

    public Task ForgetAsync()
    {
        _row = null;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private async Task<Outcome<object>?> RefuseAsync()
    {
        if (_row!.Details.Disabled)
        {
            return Outcome<object>.Fail(Failure.UserDisabled, "This user account is disabled.");
        }

        var admission = await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(_tenantId)).CheckAsync(_userId, write: false);
        return admission.Allowed ? null : Outcome<object>.Fail(admission.Failure, admission.Detail ?? "Not admitted.");
    }

    private SignInGuard Guard => _guard ??= new SignInGuard(options.Value, limits.Value);

    /// <summary>A wrong password: audited, and counted toward this address's delay and lockout for this account.</summary>
    private async Task<Outcome<SignIn>> FailSignInAsync(string from, DateTimeOffset now)
    {
        var entries = new List<AuditDraft> { new("auth.login_failed", "user", _userId.ToString("D"), AuditOutcomes.Denied) };
        if (Guard.RecordFailure(from, now))
        {
            var lockedUntil = now.Add(options.Value.LockoutDuration);
            entries.Add(new AuditDraft("auth.locked_out", "user", _userId.ToString("D"), AuditOutcomes.Denied,
                AuditChain.Details(new { address = from, lockedUntil })));
            logger.LogWarning("User {UserId} of tenant {TenantId} is locked out for address {Address} until {Until}", _userId, _tenantId, from, lockedUntil);
        }

        await AuditSignInAsync(entries);
        return InvalidCredentials<SignIn>();
    }

    /// <summary>Tells the tenant's admission the user's new status, as the system (its own async flow: the caller stays outside).</summary>
    private async Task ReportStatusAsync(bool disabled)
    {
        signer.EnterSystem();
        await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(_tenantId)).UserStatusChangedAsync(_userId, disabled);
    }

    private static void RequireSystemCaller()
    {
        if (Caller.Current is not { Role: Roles.System })
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only the sign-in service checks passwords.");
        }
    }

    private async Task<IssuedRefreshToken> IssueAsync(Guid family, TenantTransaction? replacing)
    {
        var tokenId = Guid.NewGuid();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = time.Now();
        var expires = now.Add(options.Value.RefreshTokenLifetime);
        const string insert = """
            INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, secret_hash, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """;
        if (replacing is not null)
        {
            await replacing.ExecuteAsync(insert, _tenantId, tokenId, _userId, family, HashSecret(secret), now, expires);
        }
        else
        {
            await using var transaction = await database.BeginAsync(_tenantId);
            await transaction.ExecuteAsync(insert, _tenantId, tokenId, _userId, family, HashSecret(secret), now, expires);
            await transaction.CommitAsync();
        }

        return new IssuedRefreshToken(RefreshTokenFormat.Format(_tenantId, _userId, tokenId, secret), expires);
    }

    private async Task AuditSignInAsync(IReadOnlyList<AuditDraft> entries)
    {
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(new AuditedChange([], entries));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Saving the sign-in audit entries was refused by the database ({result.SqlState}).");
        }
    }

    // Refresh secrets are 256-bit random values, so a fast hash is enough: nothing to brute-force.
    internal static byte[] HashSecret(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>The one answer to a wrong password, an unknown e-mail and a locked-out address alike.</summary>
    public const string InvalidCredentialsDetail = "The e-mail address or password is wrong, or the account is temporarily locked after repeated failures.";

    private static Outcome<T> InvalidCredentials<T>() => Outcome<T>.Fail(Failure.InvalidCredentials, InvalidCredentialsDetail);

    private static Outcome<T> InvalidToken<T>() => Outcome<T>.Fail(Failure.InvalidToken, "The refresh token is invalid, expired or revoked.");

    private sealed record UserRow(UserDetails Details, string PasswordHash);
}
