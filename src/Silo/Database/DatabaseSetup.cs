using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Hosting;

namespace Shohayota.Silo.Database;

/// <summary>
/// Decides where the database is (a configured server, or a managed local cluster under the data directory),
/// migrates it, and puts the runtime connection string into configuration for everything after.
/// </summary>
public static class DatabaseSetup
{
    public const string ConnectionStringName = "Shohayota";
    public const string AdminConnectionStringName = "ShohayotaAdmin";

    public static async Task<ManagedPostgres?> PrepareAsync(IConfigurationManager configuration, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var logger = loggerFactory.CreateLogger("Shohayota.Database");
        logger.LogInformation("Data directory: {DataDirectory}", DataDirectory.Resolve(configuration));
        var app = configuration.GetConnectionString(ConnectionStringName);
        ManagedPostgres? managed = null;
        string owner;
        if (string.IsNullOrWhiteSpace(app))
        {
            var section = configuration.GetSection("Shohayota:Database");
            var dataDirectory = DataDirectory.Resolve(configuration);
            managed = await ManagedPostgres.StartAsync(
                new ManagedPostgresOptions
                {
                    Directory = Path.Combine(dataDirectory, "postgres"),
                    Port = section.GetValue("Port", 5432),
                    BinDirectory = section["BinDirectory"],
                    Durable = section.GetValue("Durable", true),
                    MaxPoolSize = section.GetValue("MaxPoolSize", 64),
                },
                logger,
                cancellationToken);
            app = managed.AppConnectionString;
            owner = managed.OwnerConnectionString;

            // Full backups dump the whole database as the owner, with the pg_dump of the server in use.
            configuration[$"ConnectionStrings:{AdminConnectionStringName}"] = owner;
            configuration["Shohayota:Database:BinDirectory"] ??= managed.BinDirectory;
            logger.LogInformation("Local database ready; reach it with: {Psql}", managed.PsqlCommand);
        }
        else
        {
            owner = configuration.GetConnectionString(AdminConnectionStringName) ?? app;
            if (owner == app)
            {
                logger.LogWarning("ConnectionStrings:{Admin} is not set: migrations run with the runtime connection string", AdminConnectionStringName);
            }
        }

        try
        {
            await Migrator.MigrateAsync(owner, logger, cancellationToken);
            await ApplyAuditRetentionAsync(owner, configuration, logger, cancellationToken);
        }
        catch
        {
            if (managed is not null)
            {
                await managed.DisposeAsync();
            }

            throw;
        }

        configuration[$"ConnectionStrings:{ConnectionStringName}"] = app;
        return managed;
    }

    /// <summary>
    /// Writes the configured audit retention where audit_prune() reads its floor: a table only the owner can change, so the
    /// runtime role cannot prune younger entries whatever cutoff it passes. Out-of-range values are left to options validation.
    /// </summary>
    private static async Task ApplyAuditRetentionAsync(string owner, IConfiguration configuration, ILogger logger, CancellationToken cancellationToken)
    {
        var days = configuration.GetValue($"{AuditOptions.SectionName}:{nameof(AuditOptions.RetentionDays)}", new AuditOptions().RetentionDays);
        if (days is < 2 or > 36500)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync(cancellationToken);
        await using var update = new NpgsqlCommand(
            """
            WITH old AS (SELECT retention_days FROM audit_settings)
            UPDATE audit_settings s SET retention_days = $1, changed_at = now() FROM old WHERE s.retention_days <> $1
            RETURNING old.retention_days
            """,
            connection);
        update.Parameters.Add(new NpgsqlParameter { Value = days });
        if (await update.ExecuteScalarAsync(cancellationToken) is int before)
        {
            logger.LogWarning("Audit retention changed from {Before} to {Days} days (Shohayota:Audit:RetentionDays)", before, days);
        }
    }
}
