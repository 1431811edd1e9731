using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Quotas;

/// <summary>Override expiry and rate alerts on a host whose clock the tests move.</summary>
public sealed class QuotaClockTests(QuotaClockHost fixture) : IClassFixture<QuotaClockHost>
{
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task AnOverrideWithAnExpiryLapsesByItself()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await QuotasTests.OverrideAsync(_host, tenant.Id, new { customers = 1, expiresAt = _clock.GetUtcNow().AddHours(1), reason = "trial cap" });
        using (var first = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "one" }))
        {
            first.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        using var capped = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "two" });
        _clock.Advance(TimeSpan.FromMinutes(61));
        var admin = await _host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var lapsed = await _host.SendAsync(HttpMethod.Post, "/api/customers", admin.AccessToken, new { name = "two" });
        var quotas = await QuotasTests.QuotasAsync(_host, admin.AccessToken);

        capped.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        lapsed.StatusCode.Should().Be(HttpStatusCode.Created);
        quotas["overrides"]!.AsArray().Should().BeEmpty();
        quotas["quotas"]!["customers"]!["limit"]!.GetValue<long>().Should().Be(50_000);
    }

    [Fact]
    public async Task RoomReservedByABatchThatNeverSettlesComesBackAfterAMinute()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await QuotasTests.OverrideAsync(_host, tenant.Id, new { customers = 1 });
        var grain = _host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Id));
        _host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        // An audit log that reserved for its batch, then lost its node before settling.
        var held = await grain.SettleAndReserveAsync(QuotaSettlement.None, [new QuotaDelta(1, 0, 200)]);
        RequestContext.Clear();

        using var whileHeld = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "waits" });
        _clock.Advance(TimeSpan.FromSeconds(61));
        var admin = await _host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var afterExpiry = await _host.SendAsync(HttpMethod.Post, "/api/customers", admin.AccessToken, new { name = "fits" });
        var quotas = await QuotasTests.QuotasAsync(_host, admin.AccessToken);

        held.Should().ContainSingle().Which.Granted.Should().BeTrue();
        whileHeld.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        afterExpiry.StatusCode.Should().Be(HttpStatusCode.Created);
        quotas["quotas"]!["customers"]!["used"]!.GetValue<long>().Should().Be(1);
    }

    [Fact]
    public async Task ErrorRateAlertsNeedAMinimumSampleAndClearWhenTheWindowPasses()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var grain = _host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Id));
        var fast = new long[LatencyHistogram.Buckets];
        fast[LatencyHistogram.BucketOf(3)] = 99;
        _host.Services.GetRequiredService<CallerSigner>().EnterSystem();

        await grain.ReportTrafficAsync(new TrafficSample(99, 0, 10, fast));
        await grain.FlushAsync();
        var belowSample = await grain.GetAlertsAsync();
        fast[LatencyHistogram.BucketOf(3)] = 100;
        await grain.ReportTrafficAsync(new TrafficSample(100, 0, 0, fast));
        await grain.FlushAsync();
        var raised = await grain.GetAlertsAsync();
        _clock.Advance(TimeSpan.FromMinutes(6));
        await grain.FlushAsync();
        var cleared = await grain.GetAlertsAsync();
        RequestContext.Clear();

        belowSample.Should().NotContain(a => a.Metric == "errorRate");
        var alert = raised.Should().ContainSingle(a => a.Metric == "errorRate").Subject;
        alert.Level.Should().Be("critical");
        alert.Value.Should().BeApproximately(10 * 100.0 / 199, 0.01);
        alert.Threshold.Should().Be(5);
        cleared.Should().NotContain(a => a.Metric == "errorRate");
    }
    [Fact]
    public async Task AnIdleTenantsFlushWritesNothingUntilSomethingChanges()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var grain = _host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Id));
        _host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        await grain.FlushAsync();
        var first = await DayRowAsync(tenant.Id);

        _clock.Advance(TimeSpan.FromSeconds(5));
        await grain.FlushAsync();
        var idle = await DayRowAsync(tenant.Id);

        _clock.Advance(TimeSpan.FromSeconds(5));
        var one = new long[LatencyHistogram.Buckets];
        one[LatencyHistogram.BucketOf(3)] = 1;
        await grain.ReportTrafficAsync(new TrafficSample(1, 1, 0, one));
        await grain.FlushAsync();
        var busy = await DayRowAsync(tenant.Id);
        RequestContext.Clear();

        first.Should().NotBeNull("the first flush of a day writes the day's row");
        idle.Should().Be(first, "nothing changed, so nothing was written (not even updated_at)");
        busy!.Value.Requests4xx.Should().Be(first!.Value.Requests4xx + 1);
        busy.Value.UpdatedAt.Should().BeAfter(first.Value.UpdatedAt);
    }

    private async Task<(DateTimeOffset UpdatedAt, long Requests4xx)?> DayRowAsync(Guid tenant)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new Npgsql.NpgsqlCommand(
            "SELECT updated_at, requests_4xx FROM tenant_usage_metrics WHERE tenant_id = $1 AND period = 'day' ORDER BY period_start DESC LIMIT 1", connection);
        read.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenant });
        await using var reader = await read.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1)) : null;
    }
}

/// <summary>The month roll-over on a host of its own whose clock starts two minutes before a month ends.</summary>
public sealed class MonthRolloverTests(MonthEndHost fixture) : IClassFixture<MonthEndHost>
{
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task TheMonthlyCounterRollsOverAtMidnightUtcOnTheFirst()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var used = (await QuotasTests.QuotasAsync(_host, tenant.Admin.AccessToken))["quotas"]!["apiCallsMonthly"]!["used"]!.GetValue<long>();
        await QuotasTests.OverrideAsync(_host, tenant.Id, new { apiCallsMonthly = used + 1 });
        using (var last = await _host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken))
        {
            last.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var refused = await _host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);
        var firstOfMonth = new DateTimeOffset(_clock.GetUtcNow().Year, _clock.GetUtcNow().Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        _clock.Advance(firstOfMonth - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var admin = await _host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var nextMonth = await _host.SendAsync(HttpMethod.Get, "/api/users", admin.AccessToken);
        var quotas = await QuotasTests.QuotasAsync(_host, admin.AccessToken);

        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        nextMonth.StatusCode.Should().Be(HttpStatusCode.OK);
        quotas["quotas"]!["apiCallsMonthly"]!["used"]!.GetValue<long>().Should().Be(2);
        quotas["quotas"]!["apiCallsMonthly"]!["resetsAt"]!.GetValue<DateTimeOffset>().Should().Be(firstOfMonth.AddMonths(1));
    }
}

/// <summary>A host of its own on a fake clock (usage flushed every minute of that clock, so long jumps stay cheap).</summary>
public class FakeClockApiHost(DateTimeOffset start) : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(start);

    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Host = await ApiHost.StartAsync(services: s => s
            .AddSingleton<TimeProvider>(Clock)
            .PostConfigure<MeteringOptions>(o => o.FlushInterval = TimeSpan.FromMinutes(1)));

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class QuotaClockHost() : FakeClockApiHost(DateTimeOffset.UtcNow);

public sealed class MonthEndHost() : FakeClockApiHost(new DateTimeOffset(2027, 1, 31, 23, 58, 0, TimeSpan.Zero));
