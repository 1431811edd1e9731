using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Customers;

// Stateless worker keyed per tenant: List interleaves (a read), the node's TenantQueryGate lets one search per core
// and tenant run at once, and the key puts every call under the isolation filter's tenant check.
[StatelessWorker, GrainType("customer-query")]
public sealed class CustomerQueryGrain(
    TenantDatabase database, [FromKeyedServices(TenantDatabase.Searches)] TenantDatabase searches, TenantQueryGate gate, CommonTrigrams trigrams,
    IOptions<SearchOptions> options) : Grain, ICustomerQueryGrain
{
    /// <summary>How long a client should wait before repeating a search that timed out.</summary>
    internal static readonly TimeSpan SearchRetryAfter = TimeSpan.FromSeconds(5);

    private readonly string _statementTimeout = Math.Max(1, (long)Math.Ceiling(options.Value.StatementTimeout.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);

    public async Task<Outcome<CustomerPage>> ListAsync(CustomerQuery query)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        if (query.Q is null && query.Sort == CustomerSort.Relevance)
        {
            return Outcome<CustomerPage>.Fail(Failure.Validation, "sort=relevance needs a search term (q).");
        }

        var search = query.Q is not null;
        var byName = query.Sort is CustomerSort.NameAscending or CustomerSort.NameDescending;
        var items = new List<CustomerDetails>(query.PageSize + 1);
        var sortNames = new List<string>(query.PageSize + 1);
        var scores = new List<float?>(query.PageSize + 1);
        string? rarePart = null;
        if (query.Q is { Length: >= 3 } term)
        {
            var shares = await trigrams.GetAsync();
            rarePart = CommonTrigrams.RarePart(term, shares.Common, shares.Broad);
        }

        // A search on the searches' own pool (GrainsExtensions.SearchDataSource) with its timeout, a page on the shared one
        // with its own settings (KeysetPage).
        Task<int> ReadAsync(NpgsqlBatchCommand command, bool append = false, IReadOnlyList<KeyValuePair<string, string>>? settings = null) => (search ? searches : database).ReadAsync(
            tenantId,
            command,
            async reader =>
            {
                if (!append)
                {
                    items.Clear();
                    sortNames.Clear();
                    scores.Clear();
                }

                while (await reader.ReadAsync())
                {
                    items.Add(CustomerGrain.Read(reader));
                    sortNames.Add(reader.GetString(13));
                    scores.Add(reader.IsDBNull(14) ? null : reader.GetFloat(14));
                }

                return items.Count;
            },
            search ? [new("statement_timeout", _statementTimeout)] : settings);

        // A search waits for the tenant's turn (TenantQueryGate), after the checks and the term's rare part; a page does not.
        using var turn = search ? await gate.TryEnterAsync(tenantId) : null;
        if (search && turn is null)
        {
            return TenantQueryGate.Busy<CustomerPage>();
        }

        try
        {
            if (search)
            {
                await ReadAsync(SearchCommand(query, rarePart));
            }
            else if (query.Tag is not { } tag)
            {
                var page = ListCommand(tenantId, query);
                await ReadAsync(page.Statement, settings: page.Settings);
            }
            else
            {
                await TagFilter.PageAsync(
                    database, tenantId, "customer_tag_ids", tag, query.PageSize, (command, append) => ReadAsync(command, append), ListCommand(tenantId, query, walk: true).Statement,
                    found => ListCommand(tenantId, query with { After = KeyAt(found - 1), PageSize = query.PageSize - found }).Statement,
                    ids => ListCommand(tenantId, query, ids).Statement);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.QueryCanceled && search)
        {
            return Outcome<CustomerPage>.Later(Failure.SearchTimeout,
                "The search took too long and was stopped; retry shortly, or narrow it with a longer term or a filter.", SearchRetryAfter);
        }

        if (items.Count <= query.PageSize)
        {
            return Outcome<CustomerPage>.Ok(new CustomerPage(items, null));
        }

        items.RemoveAt(items.Count - 1);
        // The cursor keeps the database's own lower(name) and similarity: they depend on the server, not on .NET.
        var cursor = query.Sort == CustomerSort.Relevance
            ? new CustomerCursor(query.Sort, null, null, items[^1].Id, scores[query.PageSize - 1])
            : KeyAt(query.PageSize - 1);
        return Outcome<CustomerPage>.Ok(new CustomerPage(items, cursor));

        // Where the row read at index ends in the sort's order (not relevance).
        CustomerCursor KeyAt(int index) => new(
            query.Sort,
            byName ? sortNames[index] : null,
            byName ? null : query.Sort is CustomerSort.CreatedAtAscending or CustomerSort.CreatedAtDescending ? items[index].CreatedAt : items[index].UpdatedAt,
            items[index].Id);
    }

    /// <summary>
    /// A list without a term: the keyset index of the sort, under row-level security. With a tag (<see cref="TagFilter"/>):
    /// among <paramref name="ids"/> when the tag's keys gave them, or over the first <see cref="TagFilter.Walk"/> rows of
    /// the order only (<paramref name="walk"/>). Internal for <c>GenericPlanTests</c>,
    /// which plans every sort's page.
    /// </summary>
    internal static KeysetPage ListCommand(Guid tenantId, CustomerQuery query, Guid[]? ids = null, bool walk = false)
    {
        var (key, descending) = SortKey(query.Sort);
        var after = query.After;
        var list = new KeysetQuery($"{CustomerGrain.Columns}, lower(name), NULL::real", "customers", tenantId)
            .Where(query.Status, p => $"status = {p}")
            .Where(query.OwnerUserId, p => $"owner_user_id = {p}")
            .Where(query.CustomFields, p => $"custom_fields @> {p}::jsonb");
        return walk
            ? list.PrefixPage(key, descending, key == "lower(name)" ? after?.Name : after?.At, after?.Id, query.PageSize, TagFilter.Walk, TagFilter.Value(query.Tag!), TagFilter.Condition)
            : list.Where(query.Tag is { } tag ? TagFilter.Value(tag) : null, TagFilter.Condition)
                .Where(ids, p => $"id = ANY({p})")
                .Page(key, descending, key == "lower(name)" ? after?.Name : after?.At, after?.Id, query.PageSize);
    }

    private static (string Key, bool Descending) SortKey(CustomerSort sort) => sort switch
    {
        CustomerSort.NameAscending => ("lower(name)", false),
        CustomerSort.NameDescending => ("lower(name)", true),
        CustomerSort.CreatedAtAscending => ("created_at", false),
        CustomerSort.CreatedAtDescending => ("created_at", true),
        CustomerSort.UpdatedAtAscending => ("updated_at", false),
        _ => ("updated_at", true),
    };

    /// <summary>
    /// A search: customer_search() (sql/0120, 0140, 0210, 0240) runs the whole page, filters (custom fields too), keyset
    /// and limit included, with the per-tenant search keys or the prefix indexes; see bench/explain/search.md for why it
    /// is a function. Only the term's rare part (<see cref="CommonTrigrams.RarePart"/>) goes to the keys; a term with
    /// nothing rare walks the sort's index first.
    /// </summary>
    private static NpgsqlBatchCommand SearchCommand(CustomerQuery query, string? rarePart)
    {
        var sort = query.Sort switch
        {
            CustomerSort.NameAscending => "name",
            CustomerSort.NameDescending => "-name",
            CustomerSort.CreatedAtAscending => "createdAt",
            CustomerSort.CreatedAtDescending => "-createdAt",
            CustomerSort.UpdatedAtAscending => "updatedAt",
            CustomerSort.UpdatedAtDescending => "-updatedAt",
            _ => "relevance",
        };
        var after = query.After;
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT {CustomerGrain.Columns}, sort_name, score
            FROM customer_search($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) WITH ORDINALITY AS page
            ORDER BY page.ordinality
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Q });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = sort });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.PageSize + 1 });
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Text, query.Status));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Text, query.Tag));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Uuid, query.OwnerUserId));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Text, after?.Name));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.TimestampTz, after?.At));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Real, after?.Score));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Uuid, after?.Id));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Text, rarePart));
        command.Parameters.Add(Parameter(NpgsqlTypes.NpgsqlDbType.Jsonb, query.CustomFields));
        return command;
    }

    private static NpgsqlParameter Parameter(NpgsqlTypes.NpgsqlDbType type, object? value) =>
        new() { NpgsqlDbType = type, Value = value ?? DBNull.Value };
}
