using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shohayota.Silo.Database;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

public sealed class ManagedPostgresTests
{
    [Fact]
    public async Task ASecondStartReusesTheDataAndACleanStopStopsTheServerItStarted()
    {
        var directory = Path.Combine(Path.GetTempPath(), "shohayota-tests", "managed-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var options = new ManagedPostgresOptions { Directory = directory, Port = TestDatabase.FreePort(), Durable = false };
        await using (var first = await ManagedPostgres.StartAsync(options, NullLogger.Instance))
        {
            await ExecuteAsync(first.OwnerConnectionString, "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('still here')");
        }

        var stopped = async () => await ExecuteAsync(new NpgsqlConnectionStringBuilder(
            $"Host={Path.Combine(directory, "run")};Port={options.Port};Username=postgres;Database=postgres;Timeout=2").ConnectionString, "SELECT 1");
        await stopped.Should().ThrowAsync<NpgsqlException>();

        await using var second = await ManagedPostgres.StartAsync(options, NullLogger.Instance);
        await using var connection = new NpgsqlConnection(second.OwnerConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT value FROM kept", connection);

        (await read.ExecuteScalarAsync()).Should().Be("still here");
    }

    [Fact]
    public async Task GeneratedSecretsAreReadableByTheOwnerOnly()
    {
        var database = await TestDatabase.SharedAsync();

        var files = new[] { "credentials.json", "superuser.password" }.Select(f => Path.Combine(database.Managed!.RootDirectory, f));

        files.Should().AllSatisfy(f => File.GetUnixFileMode(f).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Fact]
    public async Task MissingServerBinariesStopTheStartWithAMessageSayingWhatToDo()
    {
        var options = new ManagedPostgresOptions { Directory = Path.Combine(Path.GetTempPath(), "shohayota-tests", "nobin"), BinDirectory = "/nonexistent/bin" };

        var start = () => ManagedPostgres.StartAsync(options, NullLogger.Instance);

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain("apt-get install postgresql").And.Contain("ConnectionStrings:Shohayota");
    }

    [Theory]
    [InlineData("socket")]
    [InlineData("tcp")]
    public async Task AConnectionWithoutAPasswordIsRefusedWhileTheAppsOwnConnectionWorks(string transport)
    {
        var managed = (await TestDatabase.SharedAsync()).Managed!;
        var host = transport == "socket" ? managed.SocketDirectory : "127.0.0.1";

        var withoutPassword = async () => await ExecuteAsync($"Host={host};Port={managed.Port};Username=postgres;Database=postgres;Timeout=5;Pooling=false", "SELECT 1");

        await withoutPassword.Should().ThrowAsync<NpgsqlException>();
        await ExecuteAsync(managed.AppConnectionString, "SELECT 1");
    }

    [Theory]
    [InlineData("socket")]
    [InlineData("tcp")]
    public async Task AnotherLocalAccountCannotConnectAsTheSuperuser(string transport)
    {
        var managed = (await TestDatabase.SharedAsync()).Managed!;
        var host = transport == "socket" ? managed.SocketDirectory : "127.0.0.1";
        Environment.UserName.Should().Be("root", "only root can run a command as another account (CI runs as root)");

        var (exitCode, output) = await RunAsync("runuser", "-u", "nobody", "--", "psql", "-w", "-X",
            $"host={host} port={managed.Port} user=postgres dbname=postgres connect_timeout=5", "-c", "SELECT 1");

        exitCode.Should().NotBe(0, "nobody must not reach the database: {0}", output);
        output.Should().ContainAny("Permission denied", "password");
    }

    [Fact]
    public async Task OnlyTheServiceAccountCanEnterTheDataSocketAndLogDirectories()
    {
        var managed = (await TestDatabase.SharedAsync()).Managed!;

        var modes = new[] { "data", "run", "log" }.Select(d => File.GetUnixFileMode(Path.Combine(managed.RootDirectory, d)));

        modes.Should().AllSatisfy(m => m.Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
    }

    [Fact]
    public async Task AClusterOfAnOlderVersionThatTrustedLocalConnectionsIsUpgradedOnStart()
    {
        var directory = Path.Combine(Path.GetTempPath(), "shohayota-tests", "managed-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var options = new ManagedPostgresOptions { Directory = directory, Port = TestDatabase.FreePort(), Durable = false };
        await using var first = await ManagedPostgres.StartAsync(options, NullLogger.Instance);
        var noPassword = $"Host={first.SocketDirectory};Port={options.Port};Username=postgres;Database=postgres;Timeout=5;Pooling=false";
        await File.WriteAllTextAsync(Path.Combine(directory, "data", "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
        await ExecuteAsync(first.SuperuserConnectionString, "SELECT pg_reload_conf()");
        await ExecuteAsync(noPassword, "SELECT 1");

        await using var second = await ManagedPostgres.StartAsync(options, NullLogger.Instance);

        var withoutPassword = async () => await ExecuteAsync(noPassword, "SELECT 1");
        await withoutPassword.Should().ThrowAsync<NpgsqlException>();
        await ExecuteAsync(second.SuperuserConnectionString, "SELECT 1");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
