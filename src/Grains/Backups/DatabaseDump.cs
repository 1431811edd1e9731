using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Shohayota.Grains.Backups;

/// <summary>
/// The whole database as <c>pg_dump --format=custom</c>, for full backups: needs the binary and the owner connection
/// (<c>ConnectionStrings:ShohayotaAdmin</c>; the runtime role sees one tenant at a time). Without either it is skipped,
/// and the manifest says why.
/// </summary>
public sealed class DatabaseDump(IOptions<BackupOptions> options, IConfiguration configuration, ILogger<DatabaseDump> logger)
{
    /// <summary>Writes the dump; returns null when written, otherwise why it was skipped.</summary>
    public async Task<string?> WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!options.Value.DatabaseDump)
        {
            return "turned off (Shohayota:Backups:DatabaseDump)";
        }

        var owner = configuration.GetConnectionString("ShohayotaAdmin");
        if (string.IsNullOrEmpty(owner) || owner == configuration.GetConnectionString("Shohayota"))
        {
            return "no owner connection (ConnectionStrings:ShohayotaAdmin): the runtime role cannot read every tenant's rows";
        }

        if (FindPgDump() is not { } binary)
        {
            return "pg_dump was not found (set Shohayota:Backups:PgDumpPath)";
        }

        var connection = new NpgsqlConnectionStringBuilder(owner);
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var argument in new[] { "--format=custom", "--no-password", "--file", path })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PGHOST"] = connection.Host;
        start.Environment["PGPORT"] = connection.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["PGUSER"] = connection.Username;
        start.Environment["PGPASSWORD"] = connection.Password;
        start.Environment["PGDATABASE"] = connection.Database;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("pg_dump did not start.");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode == 0)
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return null;
        }

        var message = (await error).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        logger.LogError("pg_dump failed with exit code {ExitCode}: {Message}", process.ExitCode, message);
        File.Delete(path);
        return $"pg_dump failed (exit code {process.ExitCode}): {message}";
    }

    private string? FindPgDump()
    {
        static string? Existing(string? path) => !string.IsNullOrEmpty(path) && File.Exists(path) ? path : null;

        if (options.Value.PgDumpPath is { Length: > 0 } configured)
        {
            return Existing(configured);
        }

        if (Existing(configuration["Shohayota:Database:BinDirectory"] is { Length: > 0 } bin ? Path.Combine(bin, "pg_dump") : null) is { } fromBin)
        {
            return fromBin;
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Select(d => (Path: System.IO.Path.Combine(d, "bin", "pg_dump"), Version: int.TryParse(System.IO.Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(d.Path))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Path)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "pg_dump"))
            .FirstOrDefault(File.Exists);
    }
}
