using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.ApiKeys;

/// <summary>
/// A tenant's API keys (<see cref="GrainKeys.ApiKeys"/>): the single writer of its <c>api_keys</c> rows, each change
/// audited in the same transaction. Who may do what is decided here, from the signed caller, whatever the front end did:
/// a tenant admin signed in as a person creates, lists and revokes; a super-admin lists and revokes; an API key, even
/// an admin's, manages no keys (a leaked key cannot mint itself a successor).
/// </summary>
[GrainType("api-keys")]
public sealed class ApiKeysGrain(TenantDatabase database, TimeProvider time) : Grain, IApiKeysGrain
{
    /// <summary>The most keys a tenant holds that are neither revoked nor expired.</summary>
    public const int MaxActiveKeys = 50;

    private Guid _tenantId;
    private List<ApiKeyDetails> _keys = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        _keys = await database.ReadAsync(_tenantId,
            TenantDatabase.Statement("SELECT id, name, role, prefix, created_at, expires_at, revoked_at, last_used_at, rate_limit_per_minute FROM api_keys ORDER BY created_at, id"),
            async reader =>
            {
                var keys = new List<ApiKeyDetails>();
                while (await reader.ReadAsync(cancellationToken))
                {
                    keys.Add(new ApiKeyDetails(reader.GetGuid(0), _tenantId, reader.GetString(1), reader.GetString(2), reader.GetString(3),
                        reader.GetFieldValue<DateTimeOffset>(4), Optional(reader, 5), Optional(reader, 6), Optional(reader, 7),
                        reader.IsDBNull(8) ? null : reader.GetInt32(8)));
                }

                return keys;
            }, cancellationToken: cancellationToken);
    }

    private static DateTimeOffset? Optional(Npgsql.NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    public async Task<Outcome<IReadOnlyList<ApiKeyDetails>>> ListAsync()
    {
        if (!MayManage(superAdmins: true))
        {
            return Outcome<IReadOnlyList<ApiKeyDetails>>.Fail(Failure.Forbidden, "Only the tenant's admins, signed in as themselves, list its API keys.");
        }

        // Last used is metering the directory writes behind (api_key_find): read it fresh, the rest is this grain's own.
        var used = await database.ReadAsync(_tenantId,
            TenantDatabase.Statement("SELECT id, last_used_at FROM api_keys WHERE last_used_at IS NOT NULL"),
            async reader =>
            {
                var lastUsed = new Dictionary<Guid, DateTimeOffset>();
                while (await reader.ReadAsync())
                {
                    lastUsed[reader.GetGuid(0)] = reader.GetFieldValue<DateTimeOffset>(1);
                }

                return lastUsed;
            });
        _keys = _keys.Select(k => used.TryGetValue(k.Id, out var at) ? k with { LastUsedAt = at } : k).ToList();
        return Outcome<IReadOnlyList<ApiKeyDetails>>.Ok(_keys);
    }

    public async Task<Outcome<CreatedApiKey>> CreateAsync(CreateApiKeyRequest request)
    {
        if (!MayManage(superAdmins: false))
        {
            return Outcome<CreatedApiKey>.Fail(Failure.Forbidden, "Only the tenant's admins, signed in as themselves, create API keys.");
        }

        var now = time.Now();
        var invalid = ApiKeySecret.ValidateName(request.Name)
                      ?? (Roles.IsTenantRole(request.Role) ? null : $"Role must be \"{Roles.TenantAdmin}\" or \"{Roles.Member}\".")
                      ?? (request.ExpiresAt is { } expires && expires <= now ? "expiresAt must be in the future." : null)
                      ?? ApiKeySecret.ValidateRateLimit(request.RateLimitPerMinute);
        if (invalid is not null)
        {
            return Outcome<CreatedApiKey>.Fail(Failure.Validation, invalid);
        }

        var active = _keys.Count(k => k.RevokedAt is null && (k.ExpiresAt is null || k.ExpiresAt > now));
        if (active >= MaxActiveKeys)
        {
            return Outcome<CreatedApiKey>.Fail(Failure.Conflict, $"A tenant holds at most {MaxActiveKeys} active API keys; revoke one first.");
        }

        var secret = ApiKeySecret.Create();
        var expiresAt = request.ExpiresAt is { } at ? at.AddTicks(-(at.Ticks % 10)) : (DateTimeOffset?)null;
        var key = new ApiKeyDetails(
            Guid.NewGuid(), _tenantId, request.Name.Trim(), request.Role, ApiKeySecret.Prefix(secret), now, expiresAt, null, null, request.RateLimitPerMinute);
        var caller = Caller.Current!;
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change(
        [
            AuditExtensions.Sql(
                """
                INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash, created_at, created_by, expires_at, rate_limit_per_minute)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                """,
                _tenantId, key.Id, key.Name, key.Role, key.Prefix, ApiKeySecret.Hash(secret), now, caller.UserId, expiresAt, key.RateLimitPerMinute),
        ],
        new AuditDraft("api_key.created", "api_key", key.Id.ToString("D"),
            Details: AuditChain.Details(new { name = key.Name, role = key.Role, prefix = key.Prefix, expiresAt, rateLimitPerMinute = key.RateLimitPerMinute }))));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Creating the API key was refused by the database ({result.SqlState}).");
        }

        _keys.Add(key);
        return Outcome<CreatedApiKey>.Ok(new CreatedApiKey(key, secret));
    }

    public async Task<Outcome<ApiKeyDetails>> RevokeAsync(Guid keyId)
    {
        if (!MayManage(superAdmins: true))
        {
            return Outcome<ApiKeyDetails>.Fail(Failure.Forbidden, "Only the tenant's admins, signed in as themselves, revoke its API keys.");
        }

        var index = _keys.FindIndex(k => k.Id == keyId);
        if (index < 0)
        {
            return Outcome<ApiKeyDetails>.Fail(Failure.NotFound, "No such API key.");
        }

        var key = _keys[index];
        if (key.RevokedAt is not null)
        {
            return Outcome<ApiKeyDetails>.Ok(key);
        }

        var now = time.Now();
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change(
        [
            AuditExtensions.Sql("UPDATE api_keys SET revoked_at = $2, revoked_by = $3 WHERE id = $1", keyId, now, Caller.Current!.UserId),
        ],
        new AuditDraft("api_key.revoked", "api_key", keyId.ToString("D"), Details: AuditChain.Details(new { name = key.Name, prefix = key.Prefix }))));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"Revoking the API key was refused by the database ({result.SqlState}).");
        }

        _keys[index] = key with { RevokedAt = now };
        return Outcome<ApiKeyDetails>.Ok(_keys[index]);
    }

    public Task ForgetAsync()
    {
        if (Caller.Current is { IsSuperAdmin: true, InPerson: true })
        {
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }

    private bool MayManage(bool superAdmins) => Caller.Current is { InPerson: true } caller &&
        (superAdmins && caller.IsSuperAdmin || caller.Role == Roles.TenantAdmin && caller.TenantId == _tenantId);
}
