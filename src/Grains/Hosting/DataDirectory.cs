using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace Shohayota.Grains.Hosting;

/// <summary>
/// The one place that turns <c>Shohayota:DataDirectory</c> into a path: the managed database, generated keys, the
/// super-admin password file and backups all live below it.
/// </summary>
public static class DataDirectory
{
    public const string ConfigurationKey = "Shohayota:DataDirectory";

    /// <summary>The file that marks the repository root when the program runs from source.</summary>
    public const string RepositoryMarker = "Shohayota.sln";

    private static readonly Lazy<string> LazyBase = new(FindBase);

    /// <summary>
    /// What a relative path is relative to: the repository root (the nearest folder above the program's own files that
    /// holds <c>Shohayota.sln</c>) when running from source, whichever the working directory (<c>dotnet run --project
    /// src/Api</c> from the root, <c>dotnet run</c> inside src/Api or src/Silo, the tests' build output); else (a published
    /// binary) the current directory.
    /// </summary>
    public static string Base => LazyBase.Value;

    /// <summary>The data directory as an absolute path: <c>Shohayota:DataDirectory</c> (default <c>.data</c>), relative to <see cref="Base"/>.</summary>
    public static string Resolve(IConfiguration configuration) => ResolvePath(configuration[ConfigurationKey] is { Length: > 0 } configured ? configured : ".data");

    /// <summary>Any configured path by the same rule: absolute paths stay, relative ones are relative to <see cref="Base"/>.</summary>
    public static string ResolvePath(string path) => Path.GetFullPath(path, Base);

    private static string FindBase()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, RepositoryMarker)))
            {
                return directory.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }

    /// <summary>Writes <paramref name="content"/> to a file below the data directory, owner-only (<see cref="OwnerOnly.Write"/>); its path.</summary>
    public static string WriteOwnerOnly(IConfiguration configuration, string name, string content)
    {
        var directory = Resolve(configuration);
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, name);
        OwnerOnly.Write(file, content);
        return file;
    }
}

/// <summary>Secrets on the local disk: readable and writable by the owner alone from the moment the file exists.</summary>
public static class OwnerOnly
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/>, replacing what it held. The content goes to a new file
    /// created 0600 by the open itself, which then takes the path's place (a rename): the path never names a file with
    /// the default mode, and a handle another account opened on an earlier, readable file keeps that file, never this content.
    /// </summary>
    public static void Write(string path, string content)
    {
        var temporary = TemporaryBeside(path);
        try
        {
            using (var writer = new StreamWriter(new FileStream(temporary,
                       new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode })))
            {
                writer.Write(content);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string TemporaryBeside(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
}

/// <summary>
/// A secret key: base64 from configuration when the key is set (several nodes must share it), otherwise generated once
/// into an owner-only file under the data directory (local mode).
/// </summary>
public static class LocalSecret
{
    public static byte[] LoadOrCreate(IConfiguration configuration, string configurationKey, string fileName, int minimumBytes = 32)
    {
        var configured = configuration[configurationKey];
        if (!string.IsNullOrEmpty(configured))
        {
            return Decode(configured.Trim(), minimumBytes)
                ?? throw new StartupRefusedException($"{configurationKey} must be a base64 key of at least {minimumBytes} bytes.");
        }

        // A file this start did not just write may have been edited, truncated or replaced: a start that cannot use it
        // says so instead of making a new key (tokens, envelopes or files protected with the old one depend on it); only an
        // empty file, which an interrupted start leaves, is written anew (CreateOnce).
        var file = CreateOnce(configuration, fileName, Convert.ToBase64String(RandomNumberGenerator.GetBytes(Math.Max(64, minimumBytes))));
        return Decode(File.ReadAllText(file).Trim(), minimumBytes)
            ?? throw new StartupRefusedException(
                $"The key file {file} ({configurationKey} is not set) does not hold a base64 key of at least {minimumBytes} bytes. " +
                $"Restore it from a backup of the data directory, or set {configurationKey}.");
    }

    private static byte[]? Decode(string text, int minimumBytes)
    {
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text, bytes, out var written) && written >= minimumBytes ? bytes[..written] : null;
    }

    /// <summary>
    /// The file under the data directory, written with <paramref name="content"/> (owner-only) unless it already has
    /// content. Two processes starting together (nodes sharing a data directory, test hosts) must end with one key: only
    /// the start that creates the file (O_EXCL) writes it; the others wait until its content is there and read it. The
    /// creating start opens it sharing reads: .NET locks a <see cref="FileShare.None"/> file with an exclusive
    /// <c>flock</c> after creating it, and a waiting start's read could take its shared lock in between, so the creating
    /// start failed, never wrote, and after the wait every start took the empty file over with a key of its own.
    /// </summary>
    private static string CreateOnce(IConfiguration configuration, string fileName, string content)
    {
        var directory = DataDirectory.Resolve(configuration);
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, fileName);
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.Read, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using var writer = new StreamWriter(file, options);
            writer.Write(content);
            return file;
        }
        catch (IOException) when (File.Exists(file))
        {
        }

        for (var attempt = 0; attempt < 1000; attempt++)
        {
            try
            {
                if (File.ReadAllText(file).Trim().Length > 0)
                {
                    return file;
                }
            }
            catch (IOException)
            {
                // Not readable yet.
            }

            Thread.Sleep(10);
        }

        // Still empty after 10 s: an interrupted start left it; take it over.
        OwnerOnly.Write(file, content);
        return file;
    }

    /// <summary>
    /// Further keys that still verify or decrypt after a rotation: comma-separated base64 in <paramref name="configurationKey"/>,
    /// each at least <paramref name="minimumBytes"/> long; none when the key is unset.
    /// </summary>
    public static List<byte[]> ParseList(IConfiguration configuration, string configurationKey, int minimumBytes = 32) =>
        (configuration[configurationKey] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(text => Decode(text, minimumBytes) ?? throw new StartupRefusedException(
                $"{configurationKey} must list base64 keys of at least {minimumBytes} bytes each, separated by commas."))
            .ToList();
}
