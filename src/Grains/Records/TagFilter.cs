using Npgsql;
using Shohayota.Grains.Database;

namespace Shohayota.Grains.Records;

/// <summary>
/// A list's tag filter (sql/0260). Under row-level security <c>tags @&gt; …</c> cannot use an index, so a list first walks
/// at most the first <see cref="Walk"/> rows of its order, stopping at a page (a tag on about 2.6 % of the rows fills
/// one there). Without a whole page there, a tag found on <see cref="Dense"/> of those rows or more walks on after its
/// last match for the rest of the page; a rarer one's per-tenant keys give the ids of the tenant's rows with it (at
/// most <see cref="MaxIds"/>), and the page is read among those. A tag on more rows than that, but on few of the
/// walk's, walks the order as before, after reading its keys (GIN reads a key's whole posting list, about 0.6 µs per
/// row with the tag).
/// </summary>
internal static class TagFilter
{
    /// <summary>
    /// Rows of the sort's order walked before the tag's keys are read: a tag on 2.6 % of them or more fills a page of 50
    /// there (the walk then stops at the page), in one statement.
    /// </summary>
    public const int Walk = 2_000;

    /// <summary>Most ids the tag's keys give; a tag on more rows walks the sort's order.</summary>
    public const int MaxIds = 1_000;

    /// <summary>Rows of the walk with the tag from which the walk goes on (1 %: a page within about 5,000 rows).</summary>
    public const int Dense = 20;

    /// <summary>A list's tag condition, given its value's placeholder (<see cref="Value"/>).</summary>
    public static readonly Func<string, string> Condition = p => $"tags @> {p}";

    /// <summary>The value of <see cref="Condition"/> for <paramref name="tag"/>: a one-tag array.</summary>
    public static string[] Value(string tag) => [tag];

    /// <summary>
    /// One page of a tag: <paramref name="walk"/> (the order's first <see cref="Walk"/> rows); without a whole page
    /// there (more than <paramref name="pageSize"/> rows), <paramref name="rest"/> after the walk's last match (given
    /// how many it found) for a tag on many of the walk's rows, else <paramref name="list"/> among the ids the tag's keys
    /// give (<paramref name="function"/>), or null for a tag on more rows than those. <paramref name="read"/> reads a
    /// statement's rows, after those read before (true) or in their place (false), and counts all it holds.
    /// </summary>
    public static async Task PageAsync(
        TenantDatabase database, Guid tenantId, string function, string tag, int pageSize, Func<NpgsqlBatchCommand, bool, Task<int>> read,
        NpgsqlBatchCommand walk, Func<int, NpgsqlBatchCommand> rest, Func<Guid[]?, NpgsqlBatchCommand> list)
    {
        var found = await read(walk, false);
        if (found > pageSize)
        {
            return;
        }

        if (found >= Dense)
        {
            // The walk's matches are the page's first rows (it covered the start of the order): the rest follow them.
            await read(rest(found), true);
        }
        else
        {
            await read(list(await IdsAsync(database, tenantId, function, tag)), false);
        }
    }

    /// <summary>
    /// The ids of the tenant's rows with <paramref name="tag"/> from <paramref name="function"/> (customer_tag_ids or
    /// contact_tag_ids), or null when more than <see cref="MaxIds"/> rows have it.
    /// </summary>
    private static Task<Guid[]?> IdsAsync(TenantDatabase database, Guid tenantId, string function, string tag) =>
        database.ReadAsync(
            tenantId,
            TenantDatabase.Statement($"SELECT {function}($1, $2)", tag, MaxIds),
            async reader => await reader.ReadAsync() && !reader.IsDBNull(0) ? reader.GetFieldValue<Guid[]>(0) : null);
}
