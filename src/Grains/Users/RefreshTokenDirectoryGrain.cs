using System.Security.Cryptography;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Users;

// Stateless worker: one indexed read per presented token, run wherever the caller is, in parallel; no per-user state.
[StatelessWorker, GrainType("refresh-token-directory")]
public sealed class RefreshTokenDirectoryGrain(TenantDatabase database, TimeProvider time) : Grain, IRefreshTokenDirectoryGrain
{
    public Task<RefreshTokenStatus> FindAsync(Guid tenantId, Guid userId, Guid tokenId, string secret)
    {
        // Only a node's own sign-in service asks (as the system caller); a status is no business of a tenant's caller.
        if (Caller.Current is not { Role: Roles.System })
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only the sign-in service looks up refresh tokens.");
        }

        return ReadAsync(database, time, tenantId, userId, tokenId, secret);
    }

    /// <summary>The token's state, read under the tenant's RLS; a wrong secret (compared in fixed time) is Unknown.</summary>
    internal static async Task<RefreshTokenStatus> ReadAsync(TenantDatabase database, TimeProvider time, Guid tenantId, Guid userId, Guid tokenId, string secret)
    {
        await using var transaction = await database.BeginAsync(tenantId);
        await using var read = transaction.Command(
            "SELECT secret_hash, expires_at, consumed_at, revoked_at FROM refresh_tokens WHERE tenant_id = $1 AND id = $2 AND user_id = $3",
            tenantId, tokenId, userId);
        await using var reader = await read.ExecuteReaderAsync();
        if (!await reader.ReadAsync() || !CryptographicOperations.FixedTimeEquals(reader.GetFieldValue<byte[]>(0), UserGrain.HashSecret(secret)))
        {
            return RefreshTokenStatus.Unknown;
        }

        return !reader.IsDBNull(3) ? RefreshTokenStatus.Revoked
            : !reader.IsDBNull(2) ? RefreshTokenStatus.Consumed
            : reader.GetFieldValue<DateTimeOffset>(1) <= time.Now() ? RefreshTokenStatus.Expired
            : RefreshTokenStatus.Live;
    }
}
