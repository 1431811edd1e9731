using System.Globalization;
using System.Text;
using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;

namespace Shohayota.Grains.Contacts;

// Stateless worker keyed per tenant: lists read the table in parallel, and the key puts every call under the
// isolation filter's tenant check.
[StatelessWorker, GrainType("contact-query")]
public sealed class ContactQueryGrain(TenantDatabase database) : Grain, IContactQueryGrain
{
    public async Task<Outcome<ContactPage>> ListAsync(ContactQuery query)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        if (query.PageSize is < 1 or > 200)
        {
            return Outcome<ContactPage>.Fail(Failure.Validation, "pageSize must be 1 to 200.");
        }

        var byName = query.Sort is ContactSort.NameAscending or ContactSort.NameDescending;
        var items = new List<ContactDetails>(query.PageSize + 1);
        var sortNames = new List<string>(query.PageSize + 1);
        await database.ReadAsync(tenantId, Command(tenantId, query), async reader =>
        {
            while (await reader.ReadAsync())
            {
                items.Add(ContactGrain.Read(reader));
                sortNames.Add(reader.GetString(13));
            }

            return items.Count;
        });

        if (items.Count <= query.PageSize)
        {
            return Outcome<ContactPage>.Ok(new ContactPage(items, null));
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        var at = query.Sort is ContactSort.CreatedAtAscending or ContactSort.CreatedAtDescending ? last.CreatedAt : last.UpdatedAt;
        // The cursor keeps the database's own sort name: lower() depends on the server, not on .NET.
        var cursor = new ContactCursor(query.Sort, byName ? sortNames[query.PageSize - 1] : null, byName ? null : at, last.Id);
        return Outcome<ContactPage>.Ok(new ContactPage(items, cursor));
    }

    /// <summary>One page: the keyset index of the sort, the filters, under row-level security (and the tenant in the key).</summary>
    private static NpgsqlBatchCommand Command(Guid tenantId, ContactQuery query)
    {
        var (key, descending) = query.Sort switch
        {
            ContactSort.NameAscending => ("sort_name", false),
            ContactSort.NameDescending => ("sort_name", true),
            ContactSort.CreatedAtAscending => ("created_at", false),
            ContactSort.CreatedAtDescending => ("created_at", true),
            ContactSort.UpdatedAtAscending => ("updated_at", false),
            _ => ("updated_at", true),
        };

        var sql = new StringBuilder($"SELECT {ContactGrain.Columns}, sort_name FROM contacts WHERE tenant_id = $1");
        var parameters = new List<object> { tenantId };
        string Next(object value)
        {
            parameters.Add(value);
            return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        }

        if (query.Q is { Length: > 0 } q)
        {
            // Matched literally: LIKE's wildcards and escape character are escaped. Names match from their start, the
            // whole "first last" and the e-mail anywhere.
            var literal = q.ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal)
                .Replace("_", "\\_", StringComparison.Ordinal);
            sql.Append(CultureInfo.InvariantCulture, $" AND search_text LIKE {Next("%" + literal + "%")}");
        }

        if (query.CustomerId is { } customer)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND customer_id = {Next(customer)}");
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
            object sortValue = key == "sort_name" ? after.Name! : after.At!.Value;
            sql.Append(CultureInfo.InvariantCulture, $" AND ({key}, id) {(descending ? "<" : ">")} ({Next(sortValue)}, {Next(after.Id)})");
        }

        var direction = descending ? "DESC" : "ASC";
        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {key} {direction}, id {direction} LIMIT {Next(query.PageSize + 1)}");
        return TenantDatabase.Statement(sql.ToString(), [.. parameters]);
    }
}
