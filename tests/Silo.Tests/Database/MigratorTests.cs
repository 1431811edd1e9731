using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shohayota.Silo.Database;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Database;

public sealed class MigratorTests
{
    [Fact]
    public async Task EveryScriptIsRecordedOnceAndASecondRunAppliesNothing()
    {
        var database = await TestDatabase.SharedAsync();

        var second = await Migrator.MigrateAsync(database.AdminConnectionString, NullLogger.Instance);

        second.Should().BeEmpty();
        await using var connection = new NpgsqlConnection(database.AdminConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*), count(DISTINCT scriptname) FROM schema_migrations", connection);
        await using var reader = await count.ExecuteReaderAsync();
        await reader.ReadAsync();
        reader.GetInt64(0).Should().Be(Migrator.Scripts.Count).And.Be(reader.GetInt64(1));
    }

    [Fact]
    public async Task TwoNodesMigratingAtOnceApplyEachScriptExactlyOnce()
    {
        await using var database = await TestDatabase.StartAsync(migrate: false);

        var runs = await Task.WhenAll(
            Migrator.MigrateAsync(database.AdminConnectionString, NullLogger.Instance),
            Migrator.MigrateAsync(database.AdminConnectionString, NullLogger.Instance));

        runs.SelectMany(r => r).Should().BeEquivalentTo(Migrator.Scripts);
        runs.Should().Contain(r => r.Count == 0);
    }

    [Fact]
    public async Task TheRuntimeRoleOwnsNothingAndCannotBypassRowLevelSecurity()
    {
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();

        await using var role = new NpgsqlCommand(
            $"SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = '{DatabaseRoles.App}'", connection);
        await using (var reader = await role.ExecuteReaderAsync())
        {
            (await reader.ReadAsync()).Should().BeTrue();
            new[] { reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3) }.Should().AllBeEquivalentTo(false);
        }

        await using var owned = new NpgsqlCommand(
            $"SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = '{DatabaseRoles.App}'", connection);
        (await owned.ExecuteScalarAsync()).Should().Be(0L);
    }

    [Fact]
    public async Task TheRuntimeRolesSessionsRunWithoutJitCompilation()
    {
        // sql/0250: a large tenant's storage sum is the kind of statement PostgreSQL would JIT-compile (185 ms instead of
        // 51 in a session's first); the setting is the database's, so every new session of the runtime role has it.
        var database = await TestDatabase.SharedAsync();
        await using var connection = new NpgsqlConnection(database.AppConnectionString);
        await connection.OpenAsync();
        await using var show = new NpgsqlCommand("SHOW jit", connection);

        (await show.ExecuteScalarAsync()).Should().Be("off");
    }

    [Fact]
    public async Task ANodeWarnsAtEveryStartWhileJitIsOnForItsDatabase()
    {
        // A database whose owner is another role keeps its setting (0250 cannot change it): the migrator says so. The
        // first run applies 0250 after its own session began (with JIT on): it must not warn about what it just changed.
        await using var database = await TestDatabase.StartAsync(migrate: false);
        var name = new NpgsqlConnectionStringBuilder(database.AdminConnectionString).Database;
        var quiet = new LogCapture();
        (await Migrator.MigrateAsync(database.AdminConnectionString, quiet.CreateLogger(nameof(Migrator)))).Should().Contain(s => s.EndsWith("0250_jit_off.sql", StringComparison.Ordinal));
        await using (var superuser = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await superuser.OpenAsync();
            await using var on = new NpgsqlCommand($"ALTER DATABASE \"{name}\" SET jit = on", superuser);
            await on.ExecuteNonQueryAsync();
        }

        var warned = new LogCapture();
        (await Migrator.MigrateAsync(database.AdminConnectionString, warned.CreateLogger(nameof(Migrator)))).Should().BeEmpty();

        quiet.Entries.Should().NotContain(e => e.Level == LogLevel.Warning && e.Message.Contains("JIT", StringComparison.Ordinal));
        warned.Entries.Where(e => e.Level == LogLevel.Warning).Should().ContainSingle(e => e.Message.Contains("JIT compilation is on", StringComparison.Ordinal))
            .Which.Message.Should().Contain($"ALTER DATABASE \"{name}\" SET jit = off");
    }
}
