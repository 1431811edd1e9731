using System.Text.Json;
using Npgsql;

namespace Shohayota.Load;

/// <summary>What seeding created, for the run and report steps.</summary>
public sealed record BenchState(
    string Plan,
    string SuperAdminEmail,
    string SuperAdminPassword,
    IReadOnlyList<SeededTenant> Tenants,
    SeededTenant BigTenant,
    SeedTimings Seed)
{
    public IEnumerable<SeededTenant> AllTenants => Tenants.Append(BigTenant);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static BenchState Load(string path) =>
        JsonSerializer.Deserialize<BenchState>(File.ReadAllText(path), Json) ?? throw new InvalidOperationException($"{path} is empty.");
}

/// <summary>A seeded tenant: <see cref="Customers"/> bulk-inserted rows plus <see cref="HotIds"/> created through the API.</summary>
public sealed record SeededTenant(Guid Id, string Name, string AdminEmail, string AdminPassword, int Customers, IReadOnlyList<Guid> HotIds);

public sealed record SeedTimings(
    double ProvisionSeconds, double BulkInsertSeconds, long BulkRows, double AnalyzeSeconds, double ApiCreateSeconds, int ApiCreated);

/// <summary>The managed cluster the Api started under its data directory, reached as its superuser over the Unix socket.</summary>
public static class BenchDatabase
{
    public static string SuperuserConnectionString(string postgresDirectory, int port, int maxPoolSize) => new NpgsqlConnectionStringBuilder
    {
        Host = Path.Combine(postgresDirectory, "run"),
        Port = port,
        Username = "postgres",
        Password = File.ReadAllText(Path.Combine(postgresDirectory, "superuser.password")).Trim(),
        Database = "shohayota",
        MaxPoolSize = maxPoolSize,
        CommandTimeout = 600,
    }.ConnectionString;

    /// <summary>
    /// <c>CHECKPOINT</c> as the superuser, after the seed and before the first scenario: the seed leaves most of the shared
    /// buffers dirty, and the checkpoint PostgreSQL then starts on its own spread their writes over 61 and 75 s in two
    /// runs' logs, into the first scenarios' measurements. (It was a suspect for the searches' slow windows and was not
    /// their cause: a run with it had the same tails.) Returns the seconds it took.
    /// </summary>
    public static async Task<double> CheckpointAsync(string postgresDirectory, int port)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(SuperuserConnectionString(postgresDirectory, port, 1));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CHECKPOINT", connection);
        await command.ExecuteNonQueryAsync();
        return clock.Elapsed.TotalSeconds;
    }

    public static int PostmasterPid(string postgresDirectory) =>
        int.Parse(File.ReadLines(Path.Combine(postgresDirectory, "data", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
}
