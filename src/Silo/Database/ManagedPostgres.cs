using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;
using Shohayota.Grains.Hosting;

namespace Shohayota.Silo.Database;

/// <summary>
/// A private PostgreSQL cluster under a directory, started from the binaries found on the machine.
/// Used when no connection string is configured (local default) and by the tests.
/// </summary>
public sealed class ManagedPostgres : IAsyncDisposable
{
    private const string ServiceAccount = "postgres";
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly ManagedPostgresOptions _options;
    private readonly ILogger _logger;
    private readonly string _binDirectory;
    private readonly bool _asRoot;
    private bool _startedByUs;

    private ManagedPostgres(ManagedPostgresOptions options, ILogger logger, string binDirectory, Credentials credentials)
    {
        _options = options;
        _logger = logger;
        _binDirectory = binDirectory;
        _asRoot = IsRoot();
        Credentials = credentials;
    }

    public string RootDirectory => _options.Directory;

    public int Port => _options.Port;

    /// <summary>The server binaries in use (backups run the pg_dump beside them).</summary>
    public string BinDirectory => _binDirectory;

    public string SocketDirectory => Path.Combine(_options.Directory, "run");

    private string DataDirectory => Path.Combine(_options.Directory, "data");

    private string LogFile => Path.Combine(_options.Directory, "log", "postgresql.log");

    internal Credentials Credentials { get; }

    public string SuperuserConnectionString => Build(ServiceAccount, Credentials.Superuser, "postgres");

    public string OwnerConnectionString => Build(DatabaseRoles.Owner, Credentials.Owner, _options.Database);

    public string AppConnectionString => Build(DatabaseRoles.App, Credentials.App, _options.Database);

    /// <summary>The psql command that reaches this cluster as the superuser, for the README and logs.</summary>
    public string PsqlCommand =>
        $"PGPASSWORD=$(cat {Path.Combine(_options.Directory, "superuser.password")}) psql -h localhost -p {_options.Port} -U postgres -d {_options.Database}";

    public static async Task<ManagedPostgres> StartAsync(ManagedPostgresOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        var binDirectory = FindBinDirectory(options.BinDirectory)
            ?? throw new DatabaseSetupException(
                "No PostgreSQL server binaries (initdb, pg_ctl) were found in Shohayota:Database:BinDirectory, `pg_config --bindir`, " +
                "/usr/lib/postgresql/*/bin or PATH. Install PostgreSQL (Debian: apt-get install postgresql) or set " +
                "ConnectionStrings:Shohayota to an existing server.");
        options = options with { Directory = Path.GetFullPath(options.Directory) };
        Directory.CreateDirectory(options.Directory);
        var credentials = Credentials.LoadOrCreate(options.Directory);
        var postgres = new ManagedPostgres(options, logger, binDirectory, credentials);
        await postgres.StartCoreAsync(cancellationToken);
        return postgres;
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        string[] serverDirectories = [DataDirectory, SocketDirectory, Path.GetDirectoryName(LogFile)!];
        foreach (var directory in serverDirectories)
        {
            Directory.CreateDirectory(directory);
        }

        // Data, socket and log directories belong to the service account alone (also on upgrade of an older .data/).
        foreach (var directory in serverDirectories)
        {
            File.SetUnixFileMode(directory, OwnerOnlyDirectory);
        }

        if (_asRoot)
        {
            MakeTraversable(_options.Directory);
            // Root's files (credentials) are owner-only; the service account only has to pass through to its directories.
            File.SetUnixFileMode(_options.Directory, OwnerOnlyDirectory | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            await RunAsync("chown", ["-R", $"{ServiceAccount}:", .. serverDirectories], cancellationToken);
        }
        else
        {
            File.SetUnixFileMode(_options.Directory, OwnerOnlyDirectory);
        }

        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
        {
            await InitializeAsync(cancellationToken);
        }

        WriteConfiguration();
        var authenticationChanged = WriteAuthentication();
        if (await IsRunningAsync(cancellationToken))
        {
            if (authenticationChanged)
            {
                // A cluster of an older version still running with 'trust': the new rules apply from this reload on.
                await RunPostgresToolAsync("pg_ctl", ["-D", DataDirectory, "reload"], cancellationToken);
                _logger.LogInformation("Reloaded PostgreSQL in {Directory}: every connection now needs a password", DataDirectory);
            }

            _logger.LogInformation("Reusing the PostgreSQL cluster already running in {Directory}", DataDirectory);
        }
        else
        {
            EnsurePortFree();
            await RunPostgresToolAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"], cancellationToken);
            _startedByUs = true;
            _logger.LogInformation("Started PostgreSQL in {Directory} on port {Port}", DataDirectory, _options.Port);
        }

        await BootstrapRolesAsync(cancellationToken);
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(_options.Directory, "initdb.pw");
        // Owner-only from its creation: as root, the directory lets every account pass through to the service account's.
        OwnerOnly.Write(passwordFile, Credentials.Superuser);
        try
        {
            if (_asRoot)
            {
                await RunAsync("chown", [ServiceAccount, passwordFile], cancellationToken);
            }

            await RunPostgresToolAsync(
                "initdb",
                ["-D", DataDirectory, "-U", ServiceAccount, "--pwfile", passwordFile, "-E", "UTF8", "--locale=C",
                 "--auth-local=scram-sha-256", "--auth-host=scram-sha-256"],
                cancellationToken);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private void WriteConfiguration()
    {
        var durable = _options.Durable ? "on" : "off";
        var settings = $"""
            # Written by Shohayota's managed PostgreSQL launcher on every start; edit Shohayota:Database instead.
            listen_addresses = '{_options.ListenAddress}'
            port = {_options.Port}
            unix_socket_directories = '{SocketDirectory}'
            unix_socket_permissions = 0700
            max_connections = {_options.MaxConnections}
            shared_buffers = 256MB
            fsync = {durable}
            synchronous_commit = {durable}
            full_page_writes = {durable}
            password_encryption = scram-sha-256
            logging_collector = off
            """;
        var path = Path.Combine(DataDirectory, "postgresql.auto.conf");
        File.WriteAllText(path, settings + "\n");
        if (_asRoot)
        {
            RunAsync("chown", [ServiceAccount, path], CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Every connection, over the Unix socket too, authenticates with a password (SCRAM): the socket is no back door for
    /// another account of the machine, nor for a process of the service account's that was not given a password.
    /// Written on every start, so a cluster made by an older version (<c>local all all trust</c>) is upgraded.
    /// Returns whether the file changed.
    /// </summary>
    private bool WriteAuthentication()
    {
        const string rules = """
            # Written by Shohayota's managed PostgreSQL launcher on every start: passwords (SCRAM) on the socket and loopback only.
            # TYPE  DATABASE  USER  ADDRESS       METHOD
            local   all       all                 scram-sha-256
            host    all       all   127.0.0.1/32  scram-sha-256
            host    all       all   ::1/128       scram-sha-256
            """;
        var path = Path.Combine(DataDirectory, "pg_hba.conf");
        if (File.Exists(path) && File.ReadAllText(path) == rules + "\n")
        {
            return false;
        }

        File.WriteAllText(path, rules + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (_asRoot)
        {
            RunAsync("chown", [ServiceAccount, path], CancellationToken.None).GetAwaiter().GetResult();
        }

        return true;
    }

    private async Task<bool> IsRunningAsync(CancellationToken cancellationToken)
    {
        var result = await RunPostgresToolAsync("pg_ctl", ["-D", DataDirectory, "status"], cancellationToken, throwOnError: false);
        return result == 0;
    }

    private void EnsurePortFree()
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, _options.Port);
            listener.Start();
            listener.Stop();
        }
        catch (SocketException)
        {
            throw new DatabaseSetupException(
                $"Port {_options.Port} is already in use, so the managed PostgreSQL cannot listen on it. " +
                "Set Shohayota:Database:Port to a free port, or set ConnectionStrings:Shohayota to use that server.");
        }
    }

    private async Task BootstrapRolesAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(SuperuserConnectionString);
        await connection.OpenAsync(cancellationToken);
        await DatabaseRoles.EnsureAsync(connection, _options.Database, Credentials.Owner, Credentials.App, cancellationToken);
    }

    public async Task StopAsync()
    {
        if (!_startedByUs)
        {
            return;
        }

        _startedByUs = false;
        NpgsqlConnection.ClearAllPools();
        await RunPostgresToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"], CancellationToken.None, throwOnError: false);
        _logger.LogInformation("Stopped PostgreSQL in {Directory}", DataDirectory);
    }

    /// <summary>Stops the server without forgetting that we own it (outage tests).</summary>
    public Task KillAsync() =>
        RunPostgresToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None, throwOnError: false);

    /// <summary>Starts the server again after <see cref="KillAsync"/>.</summary>
    public Task RestartAsync() =>
        RunPostgresToolAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"], CancellationToken.None);

    public async ValueTask DisposeAsync() => await StopAsync();

    private string Build(string user, string password, string database) => new NpgsqlConnectionStringBuilder
    {
        Host = SocketDirectory,
        Port = _options.Port,
        Username = user,
        Password = password,
        Database = database,
        MaxPoolSize = _options.MaxPoolSize,
    }.ConnectionString;

    private Task<int> RunPostgresToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool throwOnError = true)
    {
        var path = Path.Combine(_binDirectory, tool);
        return _asRoot
            ? RunAsync("runuser", ["-u", ServiceAccount, "--", path, .. arguments], cancellationToken, throwOnError)
            : RunAsync(path, arguments, cancellationToken, throwOnError);
    }

    private static async Task<int> RunAsync(string file, IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool throwOnError = true)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0 && throwOnError)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', arguments.Select(Path.GetFileName))} failed with exit code {process.ExitCode}: {await error}{await output}".Trim());
        }

        return process.ExitCode;
    }

    private static string? FindBinDirectory(string? configured)
    {
        static bool HasServer(string? directory) =>
            !string.IsNullOrEmpty(directory) && File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"));

        if (!string.IsNullOrEmpty(configured))
        {
            return HasServer(configured) ? configured : null;
        }

        var fromPgConfig = TryPgConfig();
        if (HasServer(fromPgConfig))
        {
            return fromPgConfig;
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Select(d => (Directory: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => HasServer(d.Directory))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Directory)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(HasServer);
    }

    private static string? TryPgConfig()
    {
        try
        {
            var start = new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private void MakeTraversable(string directory)
    {
        // PostgreSQL runs as the service account when we are root; it must be able to walk down to its directories.
        for (var current = Path.GetDirectoryName(directory); !string.IsNullOrEmpty(current); current = Path.GetDirectoryName(current))
        {
            var mode = File.GetUnixFileMode(current);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
            {
                File.SetUnixFileMode(current, mode | UnixFileMode.OtherExecute);
                _logger.LogInformation("Made {Directory} traversable for the {Account} account", current, ServiceAccount);
            }
        }
    }

    private static bool IsRoot() => OperatingSystem.IsLinux() && Environment.UserName == "root";
}

public sealed record ManagedPostgresOptions
{
    public required string Directory { get; init; }

    public int Port { get; init; } = 5432;

    public string ListenAddress { get; init; } = "127.0.0.1";

    public string Database { get; init; } = "shohayota";

    public string? BinDirectory { get; init; }

    /// <summary>Off only for throwaway test clusters: fsync and synchronous commit.</summary>
    public bool Durable { get; init; } = true;

    public int MaxConnections { get; init; } = 200;

    public int MaxPoolSize { get; init; } = 64;
}

/// <summary>Generated passwords of the managed cluster, kept owner-only under its directory.</summary>
internal sealed record Credentials(string Superuser, string Owner, string App)
{
    public static Credentials LoadOrCreate(string directory)
    {
        var path = Path.Combine(directory, "credentials.json");
        if (File.Exists(path))
        {
            return JsonSerializer.Deserialize<Credentials>(File.ReadAllText(path))
                ?? throw new InvalidOperationException($"{path} is unreadable.");
        }

        var credentials = new Credentials(NewSecret(), NewSecret(), NewSecret());
        OwnerOnly.Write(path, JsonSerializer.Serialize(credentials));
        OwnerOnly.Write(Path.Combine(directory, "superuser.password"), credentials.Superuser);
        return credentials;
    }

    public static string NewSecret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
}

/// <summary>A problem the operator fixes by installing or configuring something; shown as a message, not a stack trace.</summary>
public sealed class DatabaseSetupException : InvalidOperationException
{
    public DatabaseSetupException()
    {
    }

    public DatabaseSetupException(string message)
        : base(message)
    {
    }

    public DatabaseSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
