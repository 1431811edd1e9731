using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

/// <summary>
/// The plans PostgreSQL ran inside a SECURITY DEFINER function (customer_search(), customer_tag_ids(), …), from
/// auto_explain's nested statements in JSON, for tests that hold a function to the indexes it exists for.
/// </summary>
internal static class NestedPlans
{
    /// <summary>
    /// Runs <paramref name="sql"/> as the runtime role in a transaction of <paramref name="tenant"/>, and answers its scalar
    /// result, the plans of the statements it ran whose query text contains <paramref name="from"/>, in order, and for
    /// each of <paramref name="pagesOf"/> (an index; or a table with all its indexes, not its TOAST table) the pages it
    /// read, planning (an index's metapage, for instance) and execution, from the backend's counters of those relations
    /// read before and after it in its transaction. Not from the plan's buffers: those also count the catalog pages a
    /// backend reads to refill its caches inside a scan (a new connection, or one whose caches were reset while other
    /// databases of the cluster ran their migrations), which made a scan of 2 index pages read 8 in CI.
    /// </summary>
    public static async Task<(List<JsonNode> Plans, object? Answer, long[] Pages)> CaptureAsync(
        TestDatabase database, Guid tenant, string sql, string from, string[] pagesOf, params NpgsqlParameter[] parameters)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        var notices = new List<string>();
        connection.Notice += (_, e) => notices.Add(e.Notice.MessageText);
        await using (var setup = new NpgsqlCommand(
            """
            LOAD 'auto_explain';
            SET auto_explain.log_min_duration = 0;
            SET auto_explain.log_nested_statements = on;
            SET auto_explain.log_analyze = on;
            SET auto_explain.log_buffers = on;
            SET auto_explain.log_format = json;
            SET client_min_messages = log;
            SET ROLE shohayota_app;
            """,
            connection))
        {
            await setup.ExecuteNonQueryAsync();
        }

        object? answer;
        var pages = new long[pagesOf.Length];
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var tenantSetting = new NpgsqlCommand($"SELECT set_config('app.tenant_id', '{tenant}', true)", connection);
            await tenantSetting.ExecuteNonQueryAsync();
            for (var i = 0; i < pagesOf.Length; i++)
            {
                pages[i] = -await PagesAsync(connection, pagesOf[i]);
            }

            notices.Clear();
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddRange(parameters);
            answer = await command.ExecuteScalarAsync();
            for (var i = 0; i < pagesOf.Length; i++)
            {
                pages[i] += await PagesAsync(connection, pagesOf[i]);
            }
        }

        var plans = notices.Select(n => JsonNode.Parse(n[n.IndexOf('{', StringComparison.Ordinal)..])!)
            .Where(p => p["Query Text"]!.GetValue<string>().Contains(from, StringComparison.Ordinal))
            .Select(p => p["Plan"]!)
            .ToList();
        return (plans, answer, pages);
    }

    /// <summary>
    /// The pages of <paramref name="relation"/> and its indexes this backend has asked for (found in the buffers or read)
    /// and not yet reported to the statistics: only a difference within one transaction is that transaction's own.
    /// </summary>
    private static async Task<long> PagesAsync(NpgsqlConnection connection, string relation)
    {
        await using var read = new NpgsqlCommand(
            """
            SELECT sum(pg_stat_get_xact_blocks_fetched(r))::bigint
            FROM (SELECT $1::regclass::oid AS r UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid = $1::regclass) AS s
            """,
            connection);
        read.Parameters.Add(new NpgsqlParameter { Value = relation });
        return (long)(await read.ExecuteScalarAsync())!;
    }

    /// <summary>Entries the scans of <paramref name="index"/> found in a plan.</summary>
    public static long IndexRows(JsonNode node, string index) =>
        (node["Index Name"]?.GetValue<string>() == index ? node["Actual Rows"]!.GetValue<long>() : 0)
        + (node["Plans"]?.AsArray() ?? []).Sum(child => IndexRows(child!, index));
}
