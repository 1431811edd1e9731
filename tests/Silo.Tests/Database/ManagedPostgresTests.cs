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

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
