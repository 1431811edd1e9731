using System.Collections.Concurrent;
using Npgsql;

namespace Shohayota.Baseline;

/// <summary>
/// The managed cluster the Api started (Bench:PostgresDirectory, Bench:PostgresPort), reached as its superuser over
/// the Unix socket with the Api's pool size: no RLS and no set_config, the plain database ceiling.
/// </summary>
public sealed class BaselineDatabase(NpgsqlDataSource dataSource)
{
    public const string Columns = "id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version";

    private readonly ConcurrentDictionary<(Guid, Guid), CustomerResponse?> _cache = new();

    public NpgsqlDataSource DataSource => dataSource;

    public async Task EnsureAuditTableAsync()
    {
        // Bench-only: an audit-like row for B3's transaction; never part of sql/.
        await using var command = dataSource.CreateCommand("""
            CREATE TABLE IF NOT EXISTS bench_audit (
                id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant_id uuid        NOT NULL,
                at        timestamptz NOT NULL,
                action    text        NOT NULL,
                target_id uuid        NOT NULL,
                details   jsonb       NOT NULL
            )
            """);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>B1: the row read once, then served from memory, as a grain serves it.</summary>
    public async ValueTask<CustomerResponse?> GetCachedAsync(Guid tenantId, Guid id) =>
        _cache.TryGetValue((tenantId, id), out var cached) ? cached : _cache[(tenantId, id)] = await GetAsync(tenantId, id);

    /// <summary>B2: one primary-key select per call.</summary>
    public async Task<CustomerResponse?> GetAsync(Guid tenantId, Guid id)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM customers WHERE tenant_id = $1 AND id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    public static CustomerResponse Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        r.GetString(5),
        r.GetFieldValue<string[]>(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.IsDBNull(8) ? null : r.GetGuid(8),
        r.GetFieldValue<DateTimeOffset>(9),
        r.GetFieldValue<DateTimeOffset>(10),
        r.GetInt32(11));
}

public static class BaselineDatabaseExtensions
{
    public static WebApplicationBuilder AddBaselineDatabase(this WebApplicationBuilder builder)
    {
        var directory = builder.Configuration["Bench:PostgresDirectory"]
            ?? throw new InvalidOperationException("Bench:PostgresDirectory (the Api's <DataDirectory>/postgres) is required.");
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = Path.Combine(directory, "run"),
            Port = builder.Configuration.GetValue("Bench:PostgresPort", 5432),
            Username = "postgres",
            Password = File.ReadAllText(Path.Combine(directory, "superuser.password")).Trim(),
            Database = "shohayota",
            MaxPoolSize = builder.Configuration.GetValue("Bench:MaxPoolSize", 64),
        }.ConnectionString;
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddSingleton<BaselineDatabase>();
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }
}
