using System.Globalization;
using System.Text;
using Npgsql;
using Shohayota.Grains.Database;

namespace Shohayota.Grains.Records;

/// <summary>
/// One page of a record list as SQL: the tenant, the filters (each value a parameter), the keyset after the previous
/// page's last row and the sort, with one row more than the page so the caller knows whether another follows.
/// </summary>
/// <remarks>
/// A page with no filter is a walk of the sort's own index (every sort key has one, after <c>tenant_id</c>), the same
/// plan for every tenant and cursor, so it runs with a generic plan (<see cref="TenantDatabase.GenericPlan"/>).
/// PostgreSQL would otherwise plan a small page on every call: the generic plan is costed for a tenth of the average
/// tenant's rows (its limit is a parameter), so a custom plan for a limit of 2 always looks cheaper, though both are that
/// same index walk (bench/explain/generic-plans.md; <c>GenericPlanTests</c> plans every sort's page).
/// A filtered page keeps PostgreSQL's choice: its best index may depend on the tenant and the filter's value.
/// </remarks>
/// <param name="columns">The select list, over the columns of <paramref name="table"/>.</param>
internal sealed class KeysetQuery(string columns, string table, Guid tenantId)
{
    private readonly StringBuilder _where = new("tenant_id = $1");
    private readonly List<object> _parameters = [tenantId];
    private bool _filtered;

    /// <summary>The placeholder of a new parameter holding <paramref name="value"/>.</summary>
    public string Parameter(object value)
    {
        _parameters.Add(value);
        return "$" + _parameters.Count.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Adds <c>AND {condition}</c>, where <paramref name="condition"/> names its value with the placeholder it is given.</summary>
    public KeysetQuery Where(object? value, Func<string, string> condition)
    {
        if (value is not null)
        {
            _filtered = true;
            _where.Append(" AND ").Append(condition(Parameter(value)));
        }

        return this;
    }

    /// <summary>The keyset after <paramref name="afterKey"/>/<paramref name="afterId"/> (if any), the order and the limit.</summary>
    public KeysetPage Page(string key, bool descending, object? afterKey, Guid? afterId, int pageSize) => new(
        TenantDatabase.Statement(
            string.Create(CultureInfo.InvariantCulture, $"SELECT {columns} FROM {table} WHERE {Keyset(key, descending, afterKey, afterId)} {Order(key, descending)} LIMIT {Parameter(pageSize + 1)}"),
            [.. _parameters]),
        _filtered ? null : TenantDatabase.GenericPlan);

    /// <summary>
    /// As <see cref="Page"/>, over the first <paramref name="walk"/> rows of the order only (the filters so far and the
    /// keyset applied), of which those <paramref name="condition"/> keeps (given <paramref name="value"/>'s placeholder):
    /// the walk covers a prefix of the order, so a whole page found in it is the list's page. The walk passes the table's
    /// rows as they are, and stops at a page; only the page's rows get the select list's expressions.
    /// </summary>
    public KeysetPage PrefixPage(string key, bool descending, object? afterKey, Guid? afterId, int pageSize, int walk, object value, Func<string, string> condition)
    {
        var where = Keyset(key, descending, afterKey, afterId);
        var order = Order(key, descending);
        var walked = $"SELECT * FROM {table} WHERE {where} {order} LIMIT {Parameter(walk)}";
        return new(
            TenantDatabase.Statement(
                string.Create(CultureInfo.InvariantCulture, $"SELECT {columns} FROM ({walked}) AS {table} WHERE {condition(Parameter(value))} {order} LIMIT {Parameter(pageSize + 1)}"),
                [.. _parameters]),
            null);
    }

    private string Keyset(string key, bool descending, object? afterKey, Guid? afterId) =>
        afterKey is not null && afterId is { } id
            ? string.Create(CultureInfo.InvariantCulture, $"{_where} AND ({key}, id) {(descending ? "<" : ">")} ({Parameter(afterKey)}, {Parameter(id)})")
            : _where.ToString();

    private static string Order(string key, bool descending)
    {
        var direction = descending ? "DESC" : "ASC";
        return $"ORDER BY {key} {direction}, id {direction}";
    }
}

/// <summary>A page's statement and the settings it runs with (<see cref="TenantDatabase.ReadAsync{T}(Guid, NpgsqlBatchCommand, Func{NpgsqlDataReader, Task{T}}, IReadOnlyList{KeyValuePair{string, string}}?, CancellationToken)"/>).</summary>
internal readonly record struct KeysetPage(NpgsqlBatchCommand Statement, IReadOnlyList<KeyValuePair<string, string>>? Settings);
