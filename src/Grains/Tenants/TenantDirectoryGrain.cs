using Orleans.Concurrency;
using System.Globalization;
using System.Text;
using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Tenants;

// Stateless worker: the super-admin's cross-tenant list reads the tenants registry directly, in parallel.
[StatelessWorker, GrainType("tenant-directory")]
public sealed class TenantDirectoryGrain(NpgsqlDataSource dataSource) : Grain, ITenantDirectoryGrain
{
    public async Task<TenantPage> ListAsync(TenantQuery query)
    {
        if (Caller.Current is not { IsSuperAdmin: true })
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only super-admins list tenants.");
        }

        var sql = new StringBuilder("SELECT id, name, contact_email, plan, status, status_reason, created_at, status_changed_at, retention_until FROM tenants WHERE true");
        var parameters = new List<object>();
        void Add(string clause, object value)
        {
            parameters.Add(value);
            sql.Append(CultureInfo.InvariantCulture, $" AND {clause.Replace("@", "$" + parameters.Count, StringComparison.Ordinal)}");
        }

        if (query.Status is { } status)
        {
            Add("status = @", status.ToWire());
        }

        if (query.Plan is { } plan)
        {
            Add("plan = @", plan);
        }

        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            Add("lower(name) LIKE @", "%" + PostgresErrors.EscapeLike(query.Q.Trim().ToLowerInvariant()) + "%");
        }

        if (query.After is { } after)
        {
            Add("id > @", after);
        }

        parameters.Add(query.PageSize + 1);
        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY id LIMIT ${parameters.Count}");

        await using var command = dataSource.CreateCommand(sql.ToString());
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var items = new List<TenantDetails>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(TenantGrain.ReadTenant(reader));
        }

        var more = items.Count > query.PageSize;
        if (more)
        {
            items.RemoveAt(items.Count - 1);
        }

        return new TenantPage(items, more ? items[^1].Id.ToString("N") : null);
    }
}
