using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Contacts;

// Stateless worker keyed per tenant: List interleaves (a read), the node's TenantQueryGate lets one search per core
// and tenant run at once, and the key puts every call under the isolation filter's tenant check.
[StatelessWorker, GrainType("contact-query")]
public sealed class ContactQueryGrain(
    TenantDatabase database, [FromKeyedServices(TenantDatabase.Searches)] TenantDatabase searches, TenantQueryGate gate) : Grain, IContactQueryGrain
{
    public async Task<Outcome<ContactPage>> ListAsync(ContactQuery query)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        if (query.PageSize is < 1 or > 200)
        {
            return Outcome<ContactPage>.Fail(Failure.Validation, "pageSize must be 1 to 200.");
        }

        // A search waits for the tenant's turn (TenantQueryGate), after the checks; a page does not.
        var search = query.Q is { Length: > 0 };
        using var turn = search ? await gate.TryEnterAsync(tenantId) : null;
        if (search && turn is null)
        {
            return TenantQueryGate.Busy<ContactPage>();
        }

        // A search on the searches' own pool (GrainsExtensions.SearchDataSource), a page on the shared one.
        var db = search ? searches : database;
        var byName = query.Sort is ContactSort.NameAscending or ContactSort.NameDescending;
        var items = new List<ContactDetails>(query.PageSize + 1);
        var sortNames = new List<string>(query.PageSize + 1);
        Task<int> ReadAsync(NpgsqlBatchCommand command, bool append = false, IReadOnlyList<KeyValuePair<string, string>>? settings = null) => db.ReadAsync(tenantId, command, async reader =>
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
        }, settings);

        if (query.Tag is not { } tag)
        {
            var page = Command(tenantId, query);
            await ReadAsync(page.Statement, settings: page.Settings);
        }
        else
        {
            await TagFilter.PageAsync(
                db, tenantId, "contact_tag_ids", tag, query.PageSize, (command, append) => ReadAsync(command, append), Command(tenantId, query, walk: true).Statement,
                found => Command(tenantId, query with { After = KeyAt(found - 1), PageSize = query.PageSize - found }).Statement,
                ids => Command(tenantId, query, ids).Statement);
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
    /// One page: the keyset index of the sort, the filters, under row-level security (and the tenant in the key). With a
    /// tag (<see cref="TagFilter"/>): among <paramref name="ids"/> when the tag's keys gave them, or over the first
    /// <see cref="TagFilter.Walk"/> rows of the order only (<paramref name="walk"/>). Internal for <c>GenericPlanTests</c>,
    /// which plans every sort's page.
    /// </summary>
    internal static KeysetPage Command(Guid tenantId, ContactQuery query, Guid[]? ids = null, bool walk = false)
    {
        var (key, descending) = SortKey(query.Sort);
        var after = query.After;
        // Matched literally (LIKE's wildcards escaped): "first last" and the e-mail anywhere.
        var pattern = query.Q is { Length: > 0 } q ? "%" + PostgresErrors.EscapeLike(q.ToLowerInvariant()) + "%" : null;
        var list = new KeysetQuery($"{ContactGrain.Columns}, sort_name", "contacts", tenantId)
            .Where(pattern, p => $"search_text LIKE {p}")
            .Where(query.CustomerId, p => $"customer_id = {p}")
            .Where(query.OwnerUserId, p => $"owner_user_id = {p}")
            .Where(query.CustomFields, p => $"custom_fields @> {p}::jsonb");
        return walk
            ? list.PrefixPage(key, descending, key == "sort_name" ? after?.Name : after?.At, after?.Id, query.PageSize, TagFilter.Walk, TagFilter.Value(query.Tag!), TagFilter.Condition)
            : list.Where(query.Tag is { } tag ? TagFilter.Value(tag) : null, TagFilter.Condition)
                .Where(ids, p => $"id = ANY({p})")
                .Page(key, descending, key == "sort_name" ? after?.Name : after?.At, after?.Id, query.PageSize);
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
