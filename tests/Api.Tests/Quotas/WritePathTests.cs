using System.Collections;
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Quotas;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Quotas;

/// <summary>
/// What a create costs (transactions, quota calls) and what a batch of them guarantees, on a host of its own that counts
/// its tenant transactions (the <c>set_config</c> that opens each) and the calls into its grains.
/// </summary>
public sealed class WritePathTests(WritePathHost fixture) : IClassFixture<WritePathHost>
{
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task ACreateIsOneTransactionWithItsAuditEntryAndMakesNoQuotaCallOfItsOwn()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var transactions = fixture.Sql.Transactions(tenant.Id);
        var calls = fixture.Calls.Snapshot(tenant.Id);

        for (var i = 0; i < 5; i++)
        {
            using var created = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = $"one {i}" });
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        (fixture.Sql.Transactions(tenant.Id) - transactions).Should().Be(5);
        var made = fixture.Calls.Since(tenant.Id, calls);
        made.GetValueOrDefault("ReserveAsync").Should().Be(0);
        made.GetValueOrDefault("SettleAsync").Should().Be(0);
        made.GetValueOrDefault("AdjustAsync").Should().Be(0);
    }

    [Fact]
    public async Task CreatesQueuedBehindABusyBatchShareOneQuotaCallAndOneTransaction()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var transactions = fixture.Sql.Transactions(tenant.Id);
        var calls = fixture.Calls.Snapshot(tenant.Id);

        var statuses = await BehindABusyBatchAsync(tenant, Enumerable.Range(0, 10).Select(i => (object)new { name = $"queued {i}" }).ToList());

        statuses.Should().AllSatisfy(s => s.Should().Be(HttpStatusCode.Created));
        (fixture.Sql.Transactions(tenant.Id) - transactions).Should().Be(2);
        // Reserve the busy batch; settle it and reserve the ten queued behind it; settle those.
        fixture.Calls.Since(tenant.Id, calls).GetValueOrDefault("SettleAndReserveAsync").Should().Be(3);
        (await QuotasTests.QuotasAsync(_host, tenant.Admin.AccessToken))["quotas"]!["customers"]!["used"]!.GetValue<long>().Should().Be(11);
    }

    [Fact]
    public async Task AQuotaRefusalInABatchLeavesNothingWrittenAndTheRestOfTheBatchCommits()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await QuotasTests.OverrideAsync(_host, tenant.Id, new { customers = 6 });

        var statuses = await BehindABusyBatchAsync(tenant, Enumerable.Range(0, 10).Select(i => (object)new { name = $"maybe {i}" }).ToList());

        statuses.Count(s => s == HttpStatusCode.Created).Should().Be(6);
        statuses.Count(s => s == HttpStatusCode.Forbidden).Should().Be(5);
        (await CountAsync("SELECT count(*) FROM customers WHERE tenant_id = $1", tenant.Id)).Should().Be(6);
        (await CountAsync("SELECT count(*) FROM audit_logs WHERE tenant_id = $1 AND action = 'customer.created'", tenant.Id)).Should().Be(6);
        (await QuotasTests.QuotasAsync(_host, tenant.Admin.AccessToken))["quotas"]!["customers"]!["used"]!.GetValue<long>().Should().Be(6);
        using var verify = await _host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", tenant.Admin.AccessToken);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task AChangeTheDatabaseRefusesInABatchGivesItsRoomBack()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await QuotasTests.OverrideAsync(_host, tenant.Id, new { customers = 11 });
        var bodies = Enumerable.Range(0, 9).Select(i => (object)new { name = $"good {i}" }).Append(new { name = "no such owner", ownerUserId = Guid.NewGuid() }).ToList();

        var statuses = await BehindABusyBatchAsync(tenant, bodies);
        var usedAfterBatch = (await QuotasTests.QuotasAsync(_host, tenant.Admin.AccessToken))["quotas"]!;
        using var last = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "the eleventh" });
        using var beyond = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "the twelfth" });

        statuses.Count(s => s == HttpStatusCode.Created).Should().Be(10);
        statuses.Should().ContainSingle(s => s == HttpStatusCode.BadRequest);
        usedAfterBatch["customers"]!["used"]!.GetValue<long>().Should().Be(10);
        last.StatusCode.Should().Be(HttpStatusCode.Created);
        beyond.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await CountAsync("SELECT count(*) FROM customers WHERE tenant_id = $1", tenant.Id)).Should().Be(11);
    }

    /// <summary>
    /// One create whose batch the test holds up (a row lock on its audit entry's seq), then <paramref name="queued"/> sent while
    /// it waits, so they reach the tenant's log together and go in its next batch; the first create's status comes first.
    /// </summary>
    private async Task<List<HttpStatusCode>> BehindABusyBatchAsync(TestTenant tenant, List<object> queued)
    {
        var health = _host.Services.GetRequiredService<AuditWriterHealth>();
        await using var blocker = new NpgsqlConnection(_host.Database.SuperuserConnectionString);
        await blocker.OpenAsync();
        var hold = await blocker.BeginTransactionAsync();
        await using (var taken = new NpgsqlCommand(
            """
            INSERT INTO audit_logs (tenant_id, seq, id, created_at, actor_role, action, outcome, prev_hash, hash)
            SELECT $1, seq + 1, gen_random_uuid(), now(), 'system', 'test.hold', 'success', hash, '\x00'
            FROM audit_logs WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1
            """, blocker, hold))
        {
            taken.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            await taken.ExecuteNonQueryAsync();
        }

        var first = SendAsync(tenant, new { name = "first" });
        await WaitUntilAsync(async () => await CountBlockedByAsync(blocker.ProcessID) > 0);
        var pendingBefore = health.Pending;
        var rest = queued.Select(body => SendAsync(tenant, body)).ToList();
        await WaitUntilAsync(() => Task.FromResult(health.Pending >= pendingBefore + queued.Count));
        await hold.RollbackAsync();

        return [await first, .. await Task.WhenAll(rest)];
    }

    private async Task<HttpStatusCode> SendAsync(TestTenant tenant, object body)
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, body);
        return response.StatusCode;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the awaited state should come within 30 s");
            await Task.Delay(20);
        }
    }

    private Task<long> CountBlockedByAsync(int pid) =>
        CountAsync("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid);

    private async Task<long> CountAsync(string sql, object parameter)
    {
        await using var connection = new NpgsqlConnection(_host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(sql, connection);
        count.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return (long)(await count.ExecuteScalarAsync())!;
    }
}

/// <summary>A host whose tenant transactions and grain calls are counted; usage is not flushed during a test.</summary>
public sealed class WritePathHost : IAsyncLifetime
{
    public SqlLog Sql { get; } = new();

    public GrainCalls Calls { get; } = new();

    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var database = await TestDatabase.SharedAsync();
        var logging = LoggerFactory.Create(l => l.AddProvider(Sql).SetMinimumLevel(LogLevel.Debug));
        var source = new NpgsqlDataSourceBuilder(database.AppConnectionString).UseLoggerFactory(logging).EnableParameterLogging().Build();
        Host = await ApiHost.StartAsync(database, services => services
            .AddSingleton(new TenantDatabase(source))
            .AddSingleton<IIncomingGrainCallFilter>(Calls)
            .PostConfigure<MeteringOptions>(o => o.FlushInterval = TimeSpan.FromHours(1)));
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>Counts the tenant transactions Npgsql ran: each one opens with <c>set_config('app.tenant_id', tenant)</c>.</summary>
public sealed class SqlLog : ILoggerProvider, ILogger
{
    private readonly ConcurrentDictionary<string, int> _transactions = new(StringComparer.Ordinal);

    public long Transactions(Guid tenant) => _transactions.GetValueOrDefault(tenant.ToString("D"));

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (state is not IEnumerable<KeyValuePair<string, object?>> values)
        {
            return;
        }

        var words = new List<string>();
        var executed = false;
        foreach (var (key, value) in values)
        {
            if (key == "{OriginalFormat}")
            {
                executed = value is string format && format.Contains("execution completed", StringComparison.Ordinal);
            }
            else
            {
                Flatten(value, words);
            }
        }

        if (!executed)
        {
            return;
        }

        for (var i = 0; i < words.Count - 1; i++)
        {
            if (words[i].Contains("set_config('app.tenant_id'", StringComparison.Ordinal))
            {
                _transactions.AddOrUpdate(words[i + 1], 1, (_, n) => n + 1);
            }
        }
    }

    private static void Flatten(object? value, List<string> words)
    {
        switch (value)
        {
            case null:
                return;
            case string text:
                words.Add(text);
                return;
            case ITuple tuple:
                for (var i = 0; i < tuple.Length; i++)
                {
                    Flatten(tuple[i], words);
                }

                return;
            case IEnumerable items:
                foreach (var item in items)
                {
                    Flatten(item, words);
                }

                return;
            default:
                words.Add(value.ToString() ?? "");
                return;
        }
    }
}

/// <summary>Counts calls into grains whose key names a tenant, by method.</summary>
public sealed class GrainCalls : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<(string Tenant, string Method), int> _calls = new();

    public Dictionary<string, int> Snapshot(Guid tenant) =>
        _calls.Where(c => c.Key.Tenant == tenant.ToString("D")).ToDictionary(c => c.Key.Method, c => c.Value, StringComparer.Ordinal);

    public Dictionary<string, int> Since(Guid tenant, Dictionary<string, int> before) =>
        Snapshot(tenant).ToDictionary(c => c.Key, c => c.Value - before.GetValueOrDefault(c.Key), StringComparer.Ordinal);

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (GrainKeys.TenantOf(context.TargetId.Key.ToString()) is { } tenant)
        {
            _calls.AddOrUpdate((tenant.ToString("D"), context.InterfaceMethod.Name), 1, (_, n) => n + 1);
        }

        return context.Invoke();
    }
}
