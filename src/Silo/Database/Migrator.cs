using System.Globalization;
using System.Reflection;
using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Shohayota.Silo.Database;

/// <summary>Applies the embedded <c>sql/</c> scripts in order, once each, under an advisory lock.</summary>
public static class Migrator
{
    // Any constant works; it only has to be the same for every node of one database.
    private const long AdvisoryLockKey = 0x5348_4F48_4159_4F54;

    public static IReadOnlyList<string> Scripts => typeof(Migrator).Assembly.GetManifestResourceNames()
        .Where(IsScript)
        .Order(StringComparer.Ordinal)
        .ToList();

    public static async Task<IReadOnlyList<string>> MigrateAsync(string ownerConnectionString, ILogger logger, CancellationToken cancellationToken = default)
    {
        await using var lockConnection = new NpgsqlConnection(ownerConnectionString);
        await lockConnection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLockKey})", lockConnection))
        {
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var upgrader = DeployChanges.To
                .PostgresqlDatabase(ownerConnectionString)
                .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly(), IsScript)
                .WithTransactionPerScript()
                .WithVariablesDisabled()
                .JournalToPostgresqlTable("public", "schema_migrations")
                .LogTo(new DbUpLogger(logger))
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw new InvalidOperationException($"Database migration failed in {result.ErrorScript?.Name}: {result.Error.Message}", result.Error);
            }

            await WarnIfJitIsOnAsync(lockConnection, logger, cancellationToken);
            return result.Scripts.Select(s => s.Name).ToList();
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLockKey})", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// sql/0250 turns JIT off for the database, which only the database's owner can do: on a database the migrating role
    /// does not own the script leaves the setting alone. Read on the lock's connection (no connection of its own at every
    /// start): its session began before this run's scripts, so a setting 0250 has just made is read from the catalog.
    /// </summary>
    private static async Task WarnIfJitIsOnAsync(NpgsqlConnection connection, ILogger logger, CancellationToken cancellationToken)
    {
        await using var show = new NpgsqlCommand(
            """
            SELECT pg_jit_available() AND current_setting('jit') = 'on'
                   AND NOT EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                                   WHERE d.datname = current_database() AND s.setrole = 0 AND 'jit=off' = ANY (s.setconfig)),
                   current_database()
            """,
            connection);
        await using var reader = await show.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        if (reader.GetBoolean(0))
        {
            logger.LogWarning(
                "JIT compilation is on for database {Database}: a large tenant's first request can wait for it (185 ms instead of 51 here); its owner can turn it off with ALTER DATABASE \"{Database}\" SET jit = off",
                reader.GetString(1), reader.GetString(1));
        }
    }

    private static bool IsScript(string name) => name.Contains(".sql.", StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal);

    private sealed class DbUpLogger(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => Write(LogLevel.Trace, null, format, args);

        public void LogDebug(string format, params object[] args) => Write(LogLevel.Debug, null, format, args);

        public void LogInformation(string format, params object[] args) => Write(LogLevel.Debug, null, format, args);

        public void LogWarning(string format, params object[] args) => Write(LogLevel.Warning, null, format, args);

        public void LogError(string format, params object[] args) => Write(LogLevel.Error, null, format, args);

        public void LogError(Exception ex, string format, params object[] args) => Write(LogLevel.Error, ex, format, args);

        private void Write(LogLevel level, Exception? exception, string format, object[] args) =>
            logger.Log(level, exception, "{Message}", string.Format(CultureInfo.InvariantCulture, format, args));
    }
}
