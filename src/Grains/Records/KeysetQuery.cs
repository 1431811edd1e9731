using System.Globalization;
using System.Text;
using Npgsql;
using Shohayota.Grains.Database;

namespace Shohayota.Grains.Records;

/// <summary>
/// One page of a record list as SQL: the tenant, the filters (each value a parameter), the keyset after the previous
/// page's last row and the sort, with one row more than the page so the caller knows whether another follows.
/// </summary>
internal sealed class KeysetQuery
{
    private readonly StringBuilder _sql;
    private readonly List<object> _parameters;

    public KeysetQuery(string select, Guid tenantId)
    {
        _sql = new StringBuilder(select).Append(" WHERE tenant_id = $1");
        _parameters = [tenantId];
    }

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
            _sql.Append(" AND ").Append(condition(Parameter(value)));
        }

        return this;
    }

    /// <summary>The keyset after <paramref name="afterKey"/>/<paramref name="afterId"/> (if any), the order and the limit.</summary>
    public NpgsqlBatchCommand Page(string key, bool descending, object? afterKey, Guid? afterId, int pageSize)
    {
        if (afterKey is not null && afterId is { } id)
        {
            _sql.Append(CultureInfo.InvariantCulture, $" AND ({key}, id) {(descending ? "<" : ">")} ({Parameter(afterKey)}, {Parameter(id)})");
        }

        var direction = descending ? "DESC" : "ASC";
        _sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {key} {direction}, id {direction} LIMIT {Parameter(pageSize + 1)}");
        return TenantDatabase.Statement(_sql.ToString(), [.. _parameters]);
    }
}
