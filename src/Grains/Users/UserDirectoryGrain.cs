using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Users;

// Stateless worker: pure reads of the users table, run wherever the caller is, in parallel.
[StatelessWorker, GrainType("user-directory")]
public sealed class UserDirectoryGrain(TenantDatabase database) : Grain, IUserDirectoryGrain
{
    public async Task<IReadOnlyList<UserDetails>> ListAsync(Guid tenantId)
    {
        if (Caller.Current is not { } caller || !(caller.IsSuperAdmin || caller.Role == Roles.TenantAdmin && caller.TenantId == tenantId))
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only the tenant's admins list its users.");
        }

        var users = new List<UserDetails>();
        await using var transaction = await database.BeginAsync(tenantId);
        await using var read = transaction.Command("SELECT id, email, name, role, disabled, created_at FROM users ORDER BY created_at, id");
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            users.Add(new UserDetails(reader.GetGuid(0), tenantId, reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetBoolean(4),
                reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return users;
    }

    public async Task<IReadOnlyList<LoginAccount>> FindLoginsAsync(string email, Guid? tenantId)
    {
        await using var command = database.DataSource.CreateCommand("SELECT tenant_id, user_id FROM auth_find_login($1, $2)");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = email.Trim() });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = (object?)tenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        await using var reader = await command.ExecuteReaderAsync();
        var accounts = new List<LoginAccount>();
        while (await reader.ReadAsync())
        {
            accounts.Add(new LoginAccount(reader.GetGuid(0), reader.GetGuid(1)));
        }

        return accounts;
    }
}
