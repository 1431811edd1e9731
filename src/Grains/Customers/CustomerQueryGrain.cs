using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Customers;

// Stateless worker keyed per tenant: lists read the table in parallel, and the key puts every call under the
// isolation filter's tenant check.
[StatelessWorker, GrainType("customer-query")]
public sealed class CustomerQueryGrain(TenantDatabase database, CommonTrigrams trigrams, IOptions<SearchOptions> options) : Grain, ICustomerQueryGrain
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

        try
        {
            await database.ReadAsync(
                tenantId,
                query.Q is null ? ListCommand(tenantId, query) : SearchCommand(query, rarePart),
                async reader =>
                {
                    while (await reader.ReadAsync())
                    {
                        items.Add(CustomerGrain.Read(reader));
                        sortNames.Add(reader.GetString(13));
                        scores.Add(reader.IsDBNull(14) ? null : reader.GetFloat(14));
                    }

                    return items.Count;
                },
                query.Q is null ? null : [new("statement_timeout", _statementTimeout)]);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.QueryCanceled && query.Q is not null)
        {
            return Outcome<CustomerPage>.Later(Failure.SearchTimeout,
                "The search took too long and was stopped; retry shortly, or narrow it with a longer term or a filter.", SearchRetryAfter);
        }

        if (items.Count <= query.PageSize)
        {
            return Outcome<CustomerPage>.Ok(new CustomerPage(items, null));
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        var at = query.Sort is CustomerSort.CreatedAtAscending or CustomerSort.CreatedAtDescending ? last.CreatedAt : last.UpdatedAt;
        // The cursor keeps the database's own lower(name) and similarity: they depend on the server, not on .NET.
        var cursor = query.Sort == CustomerSort.Relevance
            ? new CustomerCursor(query.Sort, null, null, last.Id, scores[query.PageSize - 1])
            : new CustomerCursor(query.Sort, byName ? sortNames[query.PageSize - 1] : null, byName ? null : at, last.Id);
        return Outcome<CustomerPage>.Ok(new CustomerPage(items, cursor));
    }

    /// <summary>A list without a term: the keyset index of the sort, under row-level security.</summary>
    private static NpgsqlBatchCommand ListCommand(Guid tenantId, CustomerQuery query)
    {
        var (key, descending) = query.Sort switch
        {
            CustomerSort.NameAscending => ("lower(name)", false),
            CustomerSort.NameDescending => ("lower(name)", true),
            CustomerSort.CreatedAtAscending => ("created_at", false),
            CustomerSort.CreatedAtDescending => ("created_at", true),
            CustomerSort.UpdatedAtAscending => ("updated_at", false),
            _ => ("updated_at", true),
        };

        var after = query.After;
        return new KeysetQuery($"SELECT {CustomerGrain.Columns}, lower(name), NULL::real FROM customers", tenantId)
            .Where(query.Status, p => $"status = {p}")
            .Where(query.Tag is { } tag ? new[] { tag } : null, p => $"tags @> {p}")
            .Where(query.OwnerUserId, p => $"owner_user_id = {p}")
            .Where(query.CustomFields, p => $"custom_fields @> {p}::jsonb")
            .Page(key, descending, key == "lower(name)" ? after?.Name : after?.At, after?.Id, query.PageSize);
    }

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
