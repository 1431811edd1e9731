using System.Globalization;
using System.Text;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;

namespace Shohayota.Grains.Customers;

// Stateless worker keyed per tenant: lists read the table in parallel, and the key puts every call under the
// isolation filter's tenant check.
[StatelessWorker, GrainType("customer-query")]
public sealed class CustomerQueryGrain(TenantDatabase database) : Grain, ICustomerQueryGrain
{
    public async Task<CustomerPage> ListAsync(CustomerQuery query)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        var (key, descending) = query.Sort switch
        {
            CustomerSort.NameAscending => ("lower(name)", false),
            CustomerSort.NameDescending => ("lower(name)", true),
            CustomerSort.CreatedAtAscending => ("created_at", false),
            CustomerSort.CreatedAtDescending => ("created_at", true),
            CustomerSort.UpdatedAtAscending => ("updated_at", false),
            _ => ("updated_at", true),
        };

        var sql = new StringBuilder($"SELECT {CustomerGrain.Columns}, lower(name) FROM customers WHERE tenant_id = $1");
        var parameters = new List<object> { tenantId };
        string Next(object value)
        {
            parameters.Add(value);
            return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        }

        if (!string.IsNullOrEmpty(query.Q))
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND id IN (SELECT customer_search_ids(lower({Next("%" + PostgresErrors.EscapeLike(query.Q) + "%")})))");
        }

        if (query.Status is { } status)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND status = {Next(status)}");
        }

        if (query.Tag is { } tag)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND tags @> {Next(new[] { tag })}");
        }

        if (query.OwnerUserId is { } owner)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND owner_user_id = {Next(owner)}");
        }

        if (query.After is { } after)
        {
            object sortValue = key == "lower(name)" ? after.Name! : after.At!.Value;
            sql.Append(CultureInfo.InvariantCulture, $" AND ({key}, id) {(descending ? "<" : ">")} ({Next(sortValue)}, {Next(after.Id)})");
        }

        var direction = descending ? "DESC" : "ASC";
        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {key} {direction}, id {direction} LIMIT {Next(query.PageSize + 1)}");

        var items = new List<CustomerDetails>(query.PageSize + 1);
        var sortNames = new List<string>(query.PageSize + 1);
        await using var transaction = await database.BeginAsync(tenantId);
        await using var command = transaction.Command(sql.ToString(), [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(CustomerGrain.Read(reader));
            sortNames.Add(reader.GetString(12));
        }

        if (items.Count <= query.PageSize)
        {
            return new CustomerPage(items, null);
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];

        var at = query.Sort is CustomerSort.CreatedAtAscending or CustomerSort.CreatedAtDescending ? last.CreatedAt : last.UpdatedAt;
        // The cursor keeps the database's own lower(name): it depends on the server's locale, not .NET's.
        var byName = key == "lower(name)";
        return new CustomerPage(items, new CustomerCursor(query.Sort, byName ? sortNames[query.PageSize - 1] : null, byName ? null : at, last.Id));
    }
}
