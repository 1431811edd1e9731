using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Shohayota.Api.Hosting;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Hosting;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;
using Shohayota.Silo.Hosting;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Audit;

/// <summary>
/// A benchmark run's node: both benchmark-only switches on, in the Benchmark environment, on a database of its own (it
/// plans backups), with a clock the tests move and a schedule with an incremental backup due within the hour and the
/// full one twelve hours away.
/// </summary>
public sealed class BenchmarkHost : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Logs { get; } = new();

    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.StartAsync();
        var fullHour = (Clock.GetUtcNow().Hour + 12) % 24;
        Host = await ApiHost.StartAsync(_database, services => services
                .AddSingleton<TimeProvider>(Clock)
                .AddSingleton<ILoggerProvider>(new Capture(Logs))
                .PostConfigure<BackupOptions>(o =>
                {
                    o.FullSchedule = $"0 {fullHour} * * *";
                    o.IncrementalSchedule = "0 * * * *";
                }),
            [$"--environment={StartupChecks.BenchmarkEnvironment}", "--Shohayota:Admission:Enforce=false", "--Shohayota:Benchmark:AuditOff=true"]);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await _database.DisposeAsync();
    }

    private sealed class Capture(ConcurrentQueue<(LogLevel, string, string)> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(logs, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(LogLevel, string, string)> logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs.Enqueue((logLevel, category, formatter(state, exception)));
        }
    }
}

/// <summary>
/// <c>Shohayota:Admission:Enforce=false</c> and <c>Shohayota:Benchmark:AuditOff=true</c> measure what admission and the
/// audit log cost: a node refuses them unless its environment is Benchmark, and incremental backups, read from the audit
/// log, refuse to run while audit is off.
/// </summary>
public sealed class BenchmarkSwitchTests(BenchmarkHost fixture) : IClassFixture<BenchmarkHost>
{
    private readonly ApiHost _host = fixture.Host;

    [Theory]
    [InlineData("Production", "--Shohayota:Admission:Enforce=false", "Shohayota:Admission:Enforce=false")]
    [InlineData("Production", "--Shohayota:Benchmark:AuditOff=true", "Shohayota:Benchmark:AuditOff=true")]
    [InlineData("Development", "--Shohayota:Benchmark:AuditOff=True", "Shohayota:Benchmark:AuditOff=true")]
    public async Task ABenchmarkOnlySwitchIsRefusedAtStartOutsideABenchmarkRun(string environment, string setting, string named)
    {
        var database = await TestDatabase.SharedAsync();
        var start = () => ShohayotaApp.BuildAsync(
        [
            $"--environment={environment}",
            $"--ConnectionStrings:Shohayota={database.AppConnectionString}",
            $"--ConnectionStrings:ShohayotaAdmin={database.AdminConnectionString}",
            $"--Shohayota:DataDirectory={database.Directory}",
            setting,
        ]);

        var refused = (await start.Should().ThrowAsync<StartupRefusedException>()).Which;

        refused.Message.Should().Contain(named).And.Contain($"'{environment}'").And.Contain("Benchmark");
    }

    [Fact]
    public async Task BothSwitchesAreAcceptedInTheBenchmarkEnvironment()
    {
        var tenant = await _host.ProvisionTenantAsync();

        using var created = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Benchmarked" });

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        fixture.Logs.Should().Contain(l => l.Level == LogLevel.Warning && l.Message.Contains("BENCHMARK-ONLY SWITCH", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheAdmissionSwitchTurnsEnforcementOnAndOffAtRuntimeForSuperAdminsOnlyInTheBenchmarkEnvironment()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var superAdmin = await _host.SharedSuperAdminTokenAsync();
        var shared = await ApiHost.SharedAsync();
        try
        {
            using var on = await _host.SendAsync(HttpMethod.Put, "/api/admin/benchmark/admission", superAdmin, new { enforce = true });
            (await _host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend")).EnsureSuccessStatusCode();
            using var whileOn = await _host.SendAsync(HttpMethod.Get, "/api/customers", tenant.Admin.AccessToken);
            using var off = await _host.SendAsync(HttpMethod.Put, "/api/admin/benchmark/admission", superAdmin, new { enforce = false });
            using var whileOff = await _host.SendAsync(HttpMethod.Get, "/api/customers", tenant.Admin.AccessToken);
            using var byTenantAdmin = await _host.SendAsync(HttpMethod.Put, "/api/admin/benchmark/admission", tenant.Admin.AccessToken, new { enforce = true });
            using var withoutValue = await _host.SendAsync(HttpMethod.Put, "/api/admin/benchmark/admission", superAdmin, new { });
            // Asks to turn it on: if the route ever existed there, this would not switch admission off for the tests sharing that node.
            using var outsideBenchmark = await shared.SendAsync(HttpMethod.Put, "/api/admin/benchmark/admission", await shared.SharedSuperAdminTokenAsync(), new { enforce = true });

            on.StatusCode.Should().Be(HttpStatusCode.OK);
            (await on.JsonAsync())["enforce"]!.GetValue<bool>().Should().BeTrue();
            whileOn.StatusCode.Should().Be(HttpStatusCode.Forbidden);
            (await whileOn.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-suspended"));
            off.StatusCode.Should().Be(HttpStatusCode.OK);
            whileOff.StatusCode.Should().Be(HttpStatusCode.OK, "with enforcement off even a suspended tenant is admitted: never in production");
            fixture.Logs.Should().Contain(l => l.Level == LogLevel.Warning && l.Message.Contains("BENCHMARK-ONLY SWITCH: admission enforcement turned off", StringComparison.Ordinal));
            byTenantAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
            withoutValue.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            (await withoutValue.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("validation"));
            outsideBenchmark.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }
        finally
        {
            // The fixture's node runs with enforcement off (Shohayota:Admission:Enforce=false): leave it so.
            using var reset = await _host.SendAsync(HttpMethod.Put, "/api/admin/benchmark/admission", superAdmin, new { enforce = false });
        }
    }

    [Fact]
    public async Task AnIncrementalBackupOnDemandIsRefusedWhileAuditIsOff()
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync(), new { kind = "incremental" });

        response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("conflict"));
        problem["detail"]!.GetValue<string>().Should().Contain("Shohayota:Benchmark:AuditOff=true");
        (await BackupsAsync()).Should().Be(0);
    }

    [Fact]
    public async Task AScheduledIncrementalBackupIsNotRunWhileAuditIsOffButLoggedAsAnErrorAndAudited()
    {
        _host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        var backups = _host.Services.GetRequiredService<IGrainFactory>().GetGrain<IBackupGrain>("backups");
        await backups.TickAsync();
        var now = fixture.Clock.GetUtcNow();
        fixture.Clock.Advance(TimeSpan.FromMinutes(60 - now.Minute) - TimeSpan.FromSeconds(now.Second) + TimeSpan.FromSeconds(30));

        var ran = await backups.TickAsync();

        ran.Should().BeNull();
        (await BackupsAsync()).Should().Be(0);
        fixture.Logs.Should().Contain(l => l.Level == LogLevel.Error && l.Category == typeof(BackupGrain).FullName &&
            l.Message.Contains("scheduled incremental backup did not run", StringComparison.Ordinal) && l.Message.Contains("Shohayota:Benchmark:AuditOff=true", StringComparison.Ordinal));
        (await FailedBackupEntriesAsync()).Should().ContainSingle().Which.Should().Contain("AuditOff").And.Contain("incremental");
    }

    private async Task<int> BackupsAsync()
    {
        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync());
        return (await list.JsonAsync())["items"]!.AsArray().Count;
    }

    private async Task<List<string>> FailedBackupEntriesAsync()
    {
        await using var connection = new NpgsqlConnection(_host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT details::text FROM audit_logs WHERE action = 'backup.failed'", connection);
        var entries = new List<string>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(reader.GetString(0));
        }

        return entries;
    }
}
