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
        Task<int> ReadAsync(NpgsqlBatchCommand command, bool append = false) => database.ReadAsync(tenantId, command, async reader =>
        {
            if (!append)
            {
                items.Clear();
                sortNames.Clear();
            }

            while (await reader.ReadAsync())
            {
                items.Add(ContactGrain.Read(reader));
                sortNames.Add(reader.GetString(14));
            }

            return items.Count;
        });

        if (query.Tag is not { } tag)
        {
            await ReadAsync(Command(tenantId, query, null));
        }
        else
        {
            await TagFilter.PageAsync(
                database, tenantId, "contact_tag_ids", tag, query.PageSize, ReadAsync, TagWalkCommand(tenantId, query, tag),
                found => Command(tenantId, query with { After = KeyAt(found - 1), PageSize = query.PageSize - found }, null),
                ids => Command(tenantId, query, ids));
        }

        if (items.Count <= query.PageSize)
        {
            return Outcome<ContactPage>.Ok(new ContactPage(items, null));
        }

        items.RemoveAt(items.Count - 1);
        return Outcome<ContactPage>.Ok(new ContactPage(items, KeyAt(query.PageSize - 1)));

        // Where the row read at index ends in the sort's order. The cursor keeps the database's own sort name: lower()
        // depends on the server, not on .NET.
        ContactCursor KeyAt(int index) => new(
            query.Sort,
            byName ? sortNames[index] : null,
            byName ? null : query.Sort is ContactSort.CreatedAtAscending or ContactSort.CreatedAtDescending ? items[index].CreatedAt : items[index].UpdatedAt,
            items[index].Id);
    }

    /// <summary>
    /// One page: the keyset index of the sort, the filters, under row-level security (and the tenant in the key); with a
    /// tag, among <paramref name="ids"/> (<see cref="TagFilter"/>) when the tag's keys gave them.
    /// </summary>
    private static NpgsqlBatchCommand Command(Guid tenantId, ContactQuery query, Guid[]? ids)
    {
        var (key, descending) = SortKey(query.Sort);
        var after = query.After;
        return Filtered(tenantId, query)
            .Where(query.Tag is { } tag ? new[] { tag } : null, p => $"tags @> {p}")
            .Where(ids, p => $"id = ANY({p})")
            .Page(key, descending, key == "sort_name" ? after?.Name : after?.At, after?.Id, query.PageSize);
    }

    /// <summary>A tag's page over the first <see cref="TagFilter.Walk"/> rows of the sort's order.</summary>
    private static NpgsqlBatchCommand TagWalkCommand(Guid tenantId, ContactQuery query, string tag)
    {
        var (key, descending) = SortKey(query.Sort);
        var after = query.After;
        return Filtered(tenantId, query).PrefixPage(
            key, descending, key == "sort_name" ? after?.Name : after?.At, after?.Id, query.PageSize, TagFilter.Walk, new[] { tag }, p => $"tags @> {p}");
    }

    /// <summary>The select and the filters other than the tag.</summary>
    private static KeysetQuery Filtered(Guid tenantId, ContactQuery query)
    {
        // Matched literally (LIKE's wildcards escaped): "first last" and the e-mail anywhere.
        var pattern = query.Q is { Length: > 0 } q ? "%" + PostgresErrors.EscapeLike(q.ToLowerInvariant()) + "%" : null;
        return new KeysetQuery($"{ContactGrain.Columns}, sort_name", "contacts", tenantId)
            .Where(pattern, p => $"search_text LIKE {p}")
            .Where(query.CustomerId, p => $"customer_id = {p}")
            .Where(query.OwnerUserId, p => $"owner_user_id = {p}")
            .Where(query.CustomFields, p => $"custom_fields @> {p}::jsonb");
    }

    private static (string Key, bool Descending) SortKey(ContactSort sort) => sort switch
    {
        ContactSort.NameAscending => ("sort_name", false),
        ContactSort.NameDescending => ("sort_name", true),
        ContactSort.CreatedAtAscending => ("created_at", false),
        ContactSort.CreatedAtDescending => ("created_at", true),
        ContactSort.UpdatedAtAscending => ("updated_at", false),
        _ => ("updated_at", true),
    };
}
