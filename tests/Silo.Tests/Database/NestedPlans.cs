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
    /// result and the plans of the statements it ran whose query text contains <paramref name="from"/>, in order.
    /// </summary>
    public static async Task<(List<JsonNode> Plans, object? Answer)> CaptureAsync(
        TestDatabase database, Guid tenant, string sql, string from, params NpgsqlParameter[] parameters)
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
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var tenantSetting = new NpgsqlCommand($"SELECT set_config('app.tenant_id', '{tenant}', true)", connection);
            await tenantSetting.ExecuteNonQueryAsync();
            notices.Clear();
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddRange(parameters);
            answer = await command.ExecuteScalarAsync();
        }

        var plans = notices.Select(n => JsonNode.Parse(n[n.IndexOf('{', StringComparison.Ordinal)..])!)
            .Where(p => p["Query Text"]!.GetValue<string>().Contains(from, StringComparison.Ordinal))
            .Select(p => p["Plan"]!)
            .ToList();
        return (plans, answer);
    }

    /// <summary>Pages the scans of <paramref name="index"/> read in a plan.</summary>
    public static long IndexBuffers(JsonNode node, string index) =>
        (node["Index Name"]?.GetValue<string>() == index
            ? node["Shared Hit Blocks"]!.GetValue<long>() + node["Shared Read Blocks"]!.GetValue<long>()
            : 0)
        + (node["Plans"]?.AsArray() ?? []).Sum(child => IndexBuffers(child!, index));

    /// <summary>Entries the scans of <paramref name="index"/> found in a plan.</summary>
    public static long IndexRows(JsonNode node, string index) =>
        (node["Index Name"]?.GetValue<string>() == index ? node["Actual Rows"]!.GetValue<long>() : 0)
        + (node["Plans"]?.AsArray() ?? []).Sum(child => IndexRows(child!, index));
}
