using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shohayota.Silo.Database;

namespace Shohayota.TestSupport;

/// <summary>
/// A real PostgreSQL for tests, migrated with the real migrator: a throwaway managed cluster, or a fresh
/// database on the server named by SHOHAYOTA_TEST_SUPERUSER_CONNECTION (a superuser connection string).
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private static readonly Lazy<Task<TestDatabase>> SharedInstance = new(() => StartAsync());
    private readonly ManagedPostgres? _managed;

    private TestDatabase(ManagedPostgres? managed, string superuser, string admin, string app, string directory)
    {
        _managed = managed;
        SuperuserConnectionString = superuser;
        AdminConnectionString = admin;
        AppConnectionString = app;
        Directory = directory;
    }

    /// <summary>Connects as the superuser (bypasses RLS): for tests that tamper or inspect like an operator.</summary>
    public string SuperuserConnectionString { get; }

    /// <summary>The owner role that migrations run as.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The runtime role: owns nothing, cannot bypass RLS.</summary>
    public string AppConnectionString { get; }

    /// <summary>A private directory for this database's files (data directory for hosts under test).</summary>
    public string Directory { get; }

    public ManagedPostgres? Managed => _managed;

    /// <summary>One database shared by every test of the process; tests isolate themselves by creating their own tenants.</summary>
    public static Task<TestDatabase> SharedAsync() => SharedInstance.Value;

    /// <summary>A database of its own (for tests that stop the server).</summary>
    public static async Task<TestDatabase> StartAsync(bool migrate = true)
    {
        var directory = NewDirectory();
        var external = Environment.GetEnvironmentVariable("SHOHAYOTA_TEST_SUPERUSER_CONNECTION");
        TestDatabase database;
        if (!string.IsNullOrEmpty(external))
        {
            var name = "shohayota_test_" + Guid.NewGuid().ToString("N")[..12];
            var owner = Guid.NewGuid().ToString("N");
            var app = Guid.NewGuid().ToString("N");
            await using (var connection = new NpgsqlConnection(external))
            {
                await connection.OpenAsync();
                await DatabaseRoles.EnsureAsync(connection, name, owner, app, CancellationToken.None);
            }

            var builder = new NpgsqlConnectionStringBuilder(external) { Database = name };
            database = new TestDatabase(
                null,
                builder.ConnectionString,
                new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Username = DatabaseRoles.Owner, Password = owner }.ConnectionString,
                new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Username = DatabaseRoles.App, Password = app }.ConnectionString,
                directory);
        }
        else
        {
            var managed = await ManagedPostgres.StartAsync(
                new ManagedPostgresOptions { Directory = Path.Combine(directory, "postgres"), Port = FreePort(), Durable = false, MaxConnections = 300 },
                NullLogger.Instance);
            var superuser = new NpgsqlConnectionStringBuilder(managed.SuperuserConnectionString) { Database = "shohayota" }.ConnectionString;
            database = new TestDatabase(managed, superuser, managed.OwnerConnectionString, managed.AppConnectionString, directory);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                managed.StopAsync().GetAwaiter().GetResult();
                RemoveDirectory(directory);
            };
        }

        if (migrate)
        {
            await Migrator.MigrateAsync(database.AdminConnectionString, NullLogger.Instance);
        }

        return database;
    }

    /// <summary>
    /// Runs DDL on a table other tests use at the same time (a trigger on <c>audit_logs</c>), as the superuser. Its lock
    /// waits at most 100 ms and is asked again until it is granted: a DDL lock waiting in a table's queue holds up every
    /// statement queued behind it, and when a transaction it waits for needs one of those statements, nothing moves
    /// until a 30 s timeout (the server cannot see that cycle: part of it is in the application).
    /// </summary>
    public async Task ExecuteDdlAsync(string sql)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            await using var connection = new NpgsqlConnection(SuperuserConnectionString);
            await connection.OpenAsync();
            // One batch is one implicit transaction: a lock timeout undoes the statements before it.
            await using var command = new NpgsqlCommand($"SET lock_timeout = '100ms'; {sql}", connection);
            try
            {
                await command.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable && Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_managed is not null)
        {
            await _managed.DisposeAsync();
        }

        RemoveDirectory(Directory);
    }

    private static int _prunedStale;

    /// <summary>
    /// Clusters of earlier test runs that are stopped and were last written more than 10 minutes ago: a run's shared
    /// database is stopped at exit, but the test host may end before its files are removed. Stopped means no
    /// <c>postmaster.pid</c>, or one whose process is gone; a running cluster is never touched, and one a running test
    /// stopped for a moment has just written its log and its data directory (the pid file's removal).
    /// </summary>
    private static void RemoveStale(string root)
    {
        foreach (var directory in System.IO.Directory.EnumerateDirectories(root))
        {
            try
            {
                // TestDatabase's clusters are in postgres/, StartupLogTests' nodes' in data/postgres/, ManagedPostgresTests' directly in the directory.
                var cluster = new[] { Path.Combine(directory, "postgres"), Path.Combine(directory, "data", "postgres"), directory }
                    .FirstOrDefault(c => File.Exists(Path.Combine(c, "data", "PG_VERSION")));
                if (cluster is null || IsRunning(Path.Combine(cluster, "data", "postmaster.pid")))
                {
                    continue;
                }

                var log = Path.Combine(cluster, "log");
                var written = (System.IO.Directory.Exists(log) ? System.IO.Directory.EnumerateFiles(log).Select(File.GetLastWriteTimeUtc) : [])
                    .Append(System.IO.Directory.GetLastWriteTimeUtc(Path.Combine(cluster, "data")))
                    .Max();
                if (DateTime.UtcNow - written > TimeSpan.FromMinutes(10))
                {
                    RemoveDirectory(directory);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>A pid file whose first line names a live process (a server killed with its test host leaves its file behind).</summary>
    private static bool IsRunning(string pidFile) =>
        File.Exists(pidFile)
        && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), System.Globalization.CultureInfo.InvariantCulture, out var pid)
        && System.IO.Directory.Exists($"/proc/{pid}");

    /// <summary>
    /// A stopped cluster's files go (a test run leaves up to 300 MB per database in the temporary directory otherwise,
    /// and runs after runs once filled a disk). Best effort: a file still open keeps its directory, nothing fails.
    /// </summary>
    private static void RemoveDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A loopback port that is free now and that this process has not handed out before. It is drawn below the
    /// kernel's ephemeral range (32768 and up), so an outgoing connection (a database client's local port) cannot take
    /// it between this call and the server binding it; and it is never handed out twice, so a node's HTTP, silo and
    /// gateway ports are distinct even when one is released and the next drawn at once.
    /// </summary>
    public static int FreePort()
    {
        lock (HandedOut)
        {
            while (true)
            {
                var port = Random.Shared.Next(20_000, 32_768);
                if (HandedOut.Contains(port))
                {
                    continue;
                }
                try
                {
                    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                    listener.Start();
                }
                catch (System.Net.Sockets.SocketException)
                {
                    continue;
                }
                HandedOut.Add(port);
                return port;
            }
        }
    }

    /// <summary>A new folder under the tests' root for a database or a node's data and log (earlier runs' stale ones pruned once).</summary>
    public static string NewDirectory()
    {
        // Not mktemp -d: that is mode 700, and PostgreSQL (run as the postgres account under root) must traverse it.
        var root = Path.Combine(Path.GetTempPath(), "shohayota-tests");
        System.IO.Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        if (Interlocked.Exchange(ref _prunedStale, 1) == 0)
        {
            RemoveStale(root);
        }

        var directory = Path.Combine(root, Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        return directory;
    }
}
