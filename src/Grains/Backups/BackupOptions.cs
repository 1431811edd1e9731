using System.ComponentModel.DataAnnotations;
using Cronos;

namespace Shohayota.Grains.Backups;

public sealed class BackupOptions
{
    public const string SectionName = "Shohayota:Backups";

    /// <summary>Where backups, final exports and restore uploads go; default <c>{DataDirectory}/backups</c>.</summary>
    public string? Directory { get; set; }

    /// <summary>Whether the schedule runs (the reminder is registered); backups on demand work either way.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Cron expression (five fields, UTC) of full backups.</summary>
    [Required]
    public string FullSchedule { get; set; } = "0 2 * * *";

    /// <summary>Cron expression (five fields, UTC) of incremental backups.</summary>
    [Required]
    public string IncrementalSchedule { get; set; } = "0 */6 * * *";

    /// <summary>Backups (and final exports of purged tenants) are deleted this many days after they were made.</summary>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 30;

    /// <summary>Adds a whole-database <c>pg_dump</c> to full backups when the binary and an owner connection are there.</summary>
    public bool DatabaseDump { get; set; } = true;

    /// <summary>The pg_dump binary; default: the PostgreSQL bin directory in use, then PATH.</summary>
    public string? PgDumpPath { get; set; }

    /// <summary>The largest export <c>POST /api/admin/tenants/restore</c> accepts (the global JSON limit is 1 MB).</summary>
    [Range(1024, long.MaxValue)]
    public long MaxRestoreBytes { get; set; } = 512L * 1024 * 1024;

    public static bool IsCron(string? expression) => expression is not null && CronExpression.TryParse(expression, out _);
}

public sealed class PurgeOptions
{
    public const string SectionName = "Shohayota:Purge";

    /// <summary>Whether the retention purge runs on its own (a reminder); a run on demand works either way.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Report what would be purged, delete nothing.</summary>
    public bool DryRun { get; set; }

    [Range(1, 10_000)]
    public int MaxTenantsPerRun { get; set; } = 50;

    /// <summary>How often the purge looks for tenants whose retention has ended.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}
