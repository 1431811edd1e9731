using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Records;

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
                sortNames.Add(reader.GetString(14));
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

        // Matched literally (LIKE's wildcards escaped): "first last" and the e-mail anywhere.
        var pattern = query.Q is { Length: > 0 } q ? "%" + PostgresErrors.EscapeLike(q.ToLowerInvariant()) + "%" : null;
        var after = query.After;
        return new KeysetQuery($"SELECT {ContactGrain.Columns}, sort_name FROM contacts", tenantId)
            .Where(pattern, p => $"search_text LIKE {p}")
            .Where(query.CustomerId, p => $"customer_id = {p}")
            .Where(query.Tag is { } tag ? new[] { tag } : null, p => $"tags @> {p}")
            .Where(query.OwnerUserId, p => $"owner_user_id = {p}")
            .Where(query.CustomFields, p => $"custom_fields @> {p}::jsonb")
            .Page(key, descending, key == "sort_name" ? after?.Name : after?.At, after?.Id, query.PageSize);
    }
}
