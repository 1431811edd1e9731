using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Tenants;

namespace Shohayota.Api.Tests.Tenants;

/// <summary>Retention on a host of its own whose clock the tests move; each test's tenant starts its retention at the clock's current time.</summary>
public sealed class TenantRetentionTests(FakeClockHost fixture) : IClassFixture<FakeClockHost>
{
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task HardDeleteWithoutForceWaitsForTheEndOfRetention()
    {
        var id = await _host.ProvisionIdAsync(TenantBody.New());
        using var cancel = await _host.AdminTenantsAsync(HttpMethod.Post, $"{id}/cancel");
        var retentionUntil = (await cancel.JsonAsync())["retentionUntil"]!.GetValue<DateTimeOffset>();

        _clock.Advance(retentionUntil - _clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        using var early = await _host.AdminTenantsAsync(HttpMethod.Post, $"{id}/delete", new { hardDelete = true });
        _clock.Advance(TimeSpan.FromSeconds(2));
        using var due = await _host.AdminTenantsAsync(HttpMethod.Post, $"{id}/delete", new { hardDelete = true });
        using var gone = await _host.AdminTenantsAsync(HttpMethod.Get, $"{id}");

        early.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = await early.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("retention-not-elapsed"));
        problem["detail"]!.GetValue<string>().Should().Contain(retentionUntil.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
        due.StatusCode.Should().Be(HttpStatusCode.OK);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await _host.RunbookTenantAsync(id)).Should().BeNull();
    }

    [Fact]
    public async Task ReactivateIsRefusedOnceRetentionHasEnded()
    {
        var id = await _host.ProvisionIdAsync(TenantBody.New());
        using var cancel = await _host.AdminTenantsAsync(HttpMethod.Post, $"{id}/cancel");
        var retentionUntil = (await cancel.JsonAsync())["retentionUntil"]!.GetValue<DateTimeOffset>();

        _clock.Advance(retentionUntil - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        using var reactivate = await _host.AdminTenantsAsync(HttpMethod.Post, $"{id}/reactivate");

        reactivate.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await reactivate.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("transition-not-allowed"));
        (await _host.RunbookTenantAsync(id))!.Status.Should().Be("canceled");
    }
}

/// <summary>
/// One host per test class on a <see cref="FakeTimeProvider"/> (the grains and the token issuer take TimeProvider from DI).
/// Retention is one day here: advancing the fake clock runs every periodic timer of the silo once per period, so a
/// 30-day jump costs seconds; the 30-day default is checked on the shared host. Bearer validation uses the same clock,
/// so the host renews its cached super-admin token when the clock moves on.
/// </summary>
public sealed class FakeClockHost : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await ApiHost.StartAsync(services: s => s
            .AddSingleton<TimeProvider>(Clock)
            .PostConfigure<TenantOptions>(o => o.RetentionDays = 1));
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
