using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shohayota.Grains.Hosting;
using Shohayota.Grains.Interfaces.Backups;

namespace Shohayota.Grains.Backups;

/// <summary>A backup's manifest (<c>manifest.json</c>): what it holds, each file's SHA-256, and the backup it continues.</summary>
public sealed record BackupManifest(
    string Format,
    int Version,
    string Id,
    string Kind,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    string? Previous,
    string Trigger,
    IReadOnlyList<BackupFile> Files,
    string? DatabaseDumpSkipped)
{
    public const string FormatName = "shohayota.backup";

    /// <summary>
    /// The version of the bundles the backup holds. An incremental backup continues only from a backup of the current
    /// version: an older one lacks record types that may already have rows (version 1: contacts, version 2: the pipeline and
    /// deals, version 3: activities), which no increment would add.
    /// </summary>
    public const int CurrentVersion = BundleFormat.Version;
}

/// <summary>A final export written just before a tenant was purged.</summary>
public sealed record FinalExport(string File, Guid TenantId, DateTimeOffset CreatedAt, DateTimeOffset KeptUntil, string Path);

/// <summary>
/// The backup directory: one folder per backup (<c>{yyyyMMddTHHmmssfffZ}-{kind}</c>) with its files and manifest,
/// written under a temporary name and renamed when complete, so a listed backup is always a whole one; final exports of
/// purged tenants in <c>final/</c>. Owner-only permissions: backups hold password hashes.
/// </summary>
public sealed partial class BackupStore(IOptions<BackupOptions> options, IConfiguration configuration, ILogger<BackupStore> logger)
{
    public const string ManifestFile = "manifest.json";
    private const string TempPrefix = ".tmp-";
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string Root => Path.GetFullPath(options.Value.Directory is { Length: > 0 } configured
        ? DataDirectory.ResolvePath(configured)
        : Path.Combine(DataDirectory.Resolve(configuration), "backups"));

    public string FinalDirectory => Path.Combine(Root, "final");

    /// <summary>Where uploaded exports are spooled while a restore validates them.</summary>
    public string SpoolDirectory => EnsureDirectory(Path.Combine(Root, ".spool"));

    public static bool IsId(string? id) => id is not null && IdPattern().IsMatch(id);

    public static FileStreamOptions NewFile => new()
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        Options = FileOptions.Asynchronous,
        BufferSize = 1 << 16,
    };

    /// <summary>Complete backups, oldest first.</summary>
    public IReadOnlyList<BackupManifest> List()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }

        var manifests = new List<BackupManifest>();
        foreach (var directory in Directory.EnumerateDirectories(Root).Where(d => IsId(Path.GetFileName(d))).Order(StringComparer.Ordinal))
        {
            var path = Path.Combine(directory, ManifestFile);
            try
            {
                if (File.Exists(path) && JsonSerializer.Deserialize<BackupManifest>(File.ReadAllBytes(path), ManifestJson) is { } manifest)
                {
                    manifests.Add(manifest);
                }
            }
            catch (JsonException e)
            {
                logger.LogError(e, "The manifest of backup {Backup} is unreadable; the backup is not listed", Path.GetFileName(directory));
            }
        }

        return manifests;
    }

    public BackupManifest? Find(string id) => IsId(id) ? List().FirstOrDefault(m => m.Id == id) : null;

    public string PathOf(string id, string file) => Path.Combine(Root, id, file);

    /// <summary>How long each backup is kept: its own retention, and as long as a kept backup continues from it.</summary>
    public Dictionary<string, DateTimeOffset> KeptUntil(IReadOnlyList<BackupManifest> manifests)
    {
        var kept = manifests.ToDictionary(m => m.Id, m => m.CreatedAt.AddDays(options.Value.RetentionDays), StringComparer.Ordinal);
        foreach (var manifest in manifests.Reverse())
        {
            if (manifest.Previous is { } previous && kept.TryGetValue(previous, out var until) && kept[manifest.Id] > until)
            {
                kept[previous] = kept[manifest.Id];
            }
        }

        return kept;
    }

    /// <summary>
    /// A new backup's id: its time, but always later than every existing backup's, so ids sort in the order backups
    /// were made (and "the latest backup" is the last one) even when the clock stands still or goes back.
    /// </summary>
    public string NewId(DateTimeOffset at, string kind)
    {
        var stamp = at.UtcDateTime;
        stamp = stamp.AddTicks(-(stamp.Ticks % TimeSpan.TicksPerMillisecond));
        if (Directory.Exists(Root))
        {
            foreach (var name in Directory.EnumerateDirectories(Root).Select(Path.GetFileName))
            {
                var id = name!.StartsWith(TempPrefix, StringComparison.Ordinal) ? name[TempPrefix.Length..] : name;
                if (IsId(id) && DateTime.TryParseExact(id[..18], "yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var existing) && existing >= stamp)
                {
                    stamp = existing.AddMilliseconds(1);
                }
            }
        }

        return $"{stamp.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}-{kind}";
    }

    /// <summary>A fresh temporary folder for a backup being written (with its <c>tenants/</c> folder).</summary>
    public string Begin(string id)
    {
        var temporary = Path.Combine(EnsureDirectory(Root), TempPrefix + id);
        EnsureDirectory(Path.Combine(temporary, "tenants"));
        return temporary;
    }

    /// <summary>Writes the manifest and renames the folder: from now on the backup is listed.</summary>
    public async Task CompleteAsync(string temporary, BackupManifest manifest, CancellationToken cancellationToken)
    {
        await using (var file = new FileStream(Path.Combine(temporary, ManifestFile), NewFile))
        {
            await JsonSerializer.SerializeAsync(file, manifest, ManifestJson, cancellationToken);
        }

        Directory.Move(temporary, Path.Combine(Root, manifest.Id));
    }

    public static void Abandon(string temporary)
    {
        if (Directory.Exists(temporary))
        {
            Directory.Delete(temporary, recursive: true);
        }
    }

    public string FinalExportPath(Guid tenantId, DateTimeOffset at) =>
        Path.Combine(EnsureDirectory(FinalDirectory), $"{tenantId:D}-{at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}.json");

    public IReadOnlyList<FinalExport> FinalExports(Guid? tenantId = null)
    {
        if (!Directory.Exists(FinalDirectory))
        {
            return [];
        }

        var exports = new List<FinalExport>();
        foreach (var path in Directory.EnumerateFiles(FinalDirectory, "*.json"))
        {
            var match = FinalPattern().Match(Path.GetFileName(path));
            if (match.Success && Guid.TryParse(match.Groups[1].Value, out var tenant) && (tenantId is null || tenant == tenantId) &&
                DateTimeOffset.TryParseExact(match.Groups[2].Value, "yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            {
                exports.Add(new FinalExport("final/" + Path.GetFileName(path), tenant, at, at.AddDays(options.Value.RetentionDays), path));
            }
        }

        return exports.OrderBy(e => e.CreatedAt).ToList();
    }

    /// <summary>Deletes backups and final exports past their retention, and temporary folders of runs that died; returns the backups deleted.</summary>
    public IReadOnlyList<string> Sweep(DateTimeOffset now)
    {
        var manifests = List();
        var kept = KeptUntil(manifests);
        var deleted = new List<string>();
        foreach (var manifest in manifests.Where(m => kept[m.Id] <= now))
        {
            Directory.Delete(Path.Combine(Root, manifest.Id), recursive: true);
            deleted.Add(manifest.Id);
        }

        foreach (var export in FinalExports().Where(e => e.KeptUntil <= now))
        {
            File.Delete(export.Path);
        }

        if (Directory.Exists(Root))
        {
            foreach (var temporary in Directory.EnumerateDirectories(Root, TempPrefix + "*"))
            {
                if (Directory.GetLastWriteTimeUtc(temporary) < now.UtcDateTime.AddDays(-1))
                {
                    Directory.Delete(temporary, recursive: true);
                }
            }
        }

        return deleted;
    }

    /// <summary>Creates the folder owner-only; parents it needs get the same (CreateDirectory's mode covers the last level only).</summary>
    private static string EnsureDirectory(string path)
    {
        if (!Directory.Exists(path))
        {
            if (Path.GetDirectoryName(path) is { } parent && !Directory.Exists(parent))
            {
                EnsureDirectory(parent);
            }

            Directory.CreateDirectory(path, OwnerOnlyDirectory);
        }

        return path;
    }

    [GeneratedRegex(@"^[0-9]{8}T[0-9]{9}Z-(full|incremental)$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^([0-9a-f-]{36})-([0-9]{8}T[0-9]{9}Z)\.json$")]
    private static partial Regex FinalPattern();
}
