using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.ApiKeys;

/// <summary>
/// Resolves a presented API key's hash to its key, across tenants (<c>api_key_find</c>), for the front ends'
/// authentication; the system caller only (a tenant's caller has no business looking up keys by hash).
/// Stateless worker: one read, run wherever the caller is, in parallel.
/// </summary>
[StatelessWorker, GrainType("api-key-directory")]
public sealed class ApiKeyDirectoryGrain(TenantDatabase database) : Grain, IApiKeyDirectoryGrain
{
    public async Task<ApiKeyMatch?> FindAsync(byte[] secretHash)
    {
        if (Caller.Current is not { Role: Roles.System })
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only the cluster looks up API keys.");
        }

        if (secretHash is not { Length: 32 })
        {
            return null;
        }

        await using var command = database.DataSource.CreateCommand("SELECT tenant_id, id, name, role, expires_at, revoked_at, rate_limit_per_minute FROM api_key_find($1)");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = secretHash });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new ApiKeyMatch(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4), !reader.IsDBNull(5), reader.IsDBNull(6) ? null : reader.GetInt32(6))
            : null;
    }
}
