using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Hosting;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>
/// Exports and audit verifications are bounded per tenant (one of each at once, the default) and per node (two here).
/// A test occupies a slot by holding a permit of the node's own limiter, so "running" needs no timing.
/// </summary>
public sealed class HeavyRouteTests(HeavyRouteHost fixture) : IClassFixture<HeavyRouteHost>
{
    private readonly ApiHost _host = fixture.Host;

    private HeavyRouteLimiter Limiter => _host.Services.GetRequiredService<HeavyRouteLimiter>();

    [Fact]
    public async Task ASecondExportOfATenantIsRefusedWith429AndRetryAfterWhileAnotherTenantIsServed()
    {
        var a = await _host.ProvisionTenantAsync();
        var b = await _host.ProvisionTenantAsync();
        var running = Hold(HeavyRoute.Export, a.Id);

        using var second = await ExportAsync(a);
        using var other = await ExportAsync(b);
        using var verify = await VerifyAsync(a);
        running.Dispose();
        using var after = await ExportAsync(a);

        await ShouldBeRateLimitedAsync(second);
        other.StatusCode.Should().Be(HttpStatusCode.OK);
        verify.StatusCode.Should().Be(HttpStatusCode.OK, "exports and verifications are bounded separately");
        after.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ExportEntriesAsync(a)).Should().Be(1, "the refused export did no work and wrote no export entry");
    }

    [Fact]
    public async Task ASecondVerificationOfATenantsLogIsRefusedWith429WhileAnotherTenantIsServed()
    {
        var a = await _host.ProvisionTenantAsync();
        var b = await _host.ProvisionTenantAsync();
        var running = Hold(HeavyRoute.Verify, a.Id);

        using var second = await VerifyAsync(a);
        using var other = await VerifyAsync(b);
        running.Dispose();
        using var after = await VerifyAsync(a);

        await ShouldBeRateLimitedAsync(second);
        other.StatusCode.Should().Be(HttpStatusCode.OK);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
        (await after.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task ASecondImportIntoATenantIsRefusedWith429BeforeItsFileIsReadWhileAnotherTenantImports()
    {
        var a = await _host.ProvisionTenantAsync();
        var b = await _host.ProvisionTenantAsync();
        var running = Hold(HeavyRoute.Import, a.Id);

        using var second = await ImportAsync(a, "Refused");
        using var other = await ImportAsync(b, "Other tenant");
        running.Dispose();
        using var after = await ImportAsync(a, "After");

        await ShouldBeRateLimitedAsync(second);
        (await second.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("import");
        other.StatusCode.Should().Be(HttpStatusCode.Created);
        after.StatusCode.Should().Be(HttpStatusCode.Created);
        using var customers = await _host.SendAsync(HttpMethod.Get, "/api/customers", a.Admin.AccessToken);
        (await customers.JsonAsync())["items"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).Should().Equal("After");
    }

    [Fact]
    public async Task ASuperAdminsExportCountsAgainstTheExportedTenant()
    {
        var a = await _host.ProvisionTenantAsync();
        using var running = Hold(HeavyRoute.Export, a.Id);

        using var bySuperAdmin = await _host.SendAsync(HttpMethod.Get, $"/api/tenants/export?tenantId={a.Id}", await _host.SharedSuperAdminTokenAsync());

        await ShouldBeRateLimitedAsync(bySuperAdmin);
    }

    [Fact]
    public async Task WhenTheNodeRunsItsShareEveryTenantIsRefusedUntilOneFinishes()
    {
        var a = await _host.ProvisionTenantAsync();
        var b = await _host.ProvisionTenantAsync();
        var c = await _host.ProvisionTenantAsync();
        var first = Hold(HeavyRoute.Export, a.Id);
        using var second = Hold(HeavyRoute.Verify, b.Id);

        using var export = await ExportAsync(c);
        using var verify = await VerifyAsync(c);
        first.Dispose();
        using var after = await ExportAsync(c);

        await ShouldBeRateLimitedAsync(export);
        await ShouldBeRateLimitedAsync(verify);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AFinishedExportLeavesItsSlotFree()
    {
        var a = await _host.ProvisionTenantAsync();

        using var first = await ExportAsync(a);
        await first.Content.ReadAsByteArrayAsync();
        using var second = await ExportAsync(a);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.OK, "the slot is released before the response's last byte is sent");
    }

    [Fact]
    public async Task ABoundBelowOneStopsTheStartWithAMessage()
    {
        var start = async () => await ApiHost.StartAsync(_host.Database, settings: ["--Shohayota:Limits:HeavyPerTenant=0"]);

        (await start.Should().ThrowAsync<Exception>()).Which.ToString().Should().Contain("HeavyPerTenant");
    }

    private HeavyRoutePermit Hold(HeavyRoute route, Guid tenant) =>
        Limiter.TryEnter(route, tenant, out var refusal) ?? throw new InvalidOperationException(refusal);

    private Task<HttpResponseMessage> ExportAsync(TestTenant tenant) => _host.SendAsync(HttpMethod.Get, "/api/tenants/export", tenant.Admin.AccessToken);

    private async Task<HttpResponseMessage> ImportAsync(TestTenant tenant, string name)
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/imports/customers", tenant.Admin.AccessToken);
        request.Content = new StringContent($"name\n{name}\n", System.Text.Encoding.UTF8, "text/csv");
        return await _host.Client.SendAsync(request);
    }

    private Task<HttpResponseMessage> VerifyAsync(TestTenant tenant) => _host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", tenant.Admin.AccessToken);

    private async Task<int> ExportEntriesAsync(TestTenant tenant)
    {
        using var log = await _host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=tenant.exported", tenant.Admin.AccessToken);
        return (await log.JsonAsync())["items"]!.AsArray().Count;
    }

    private static async Task ShouldBeRateLimitedAsync(HttpResponseMessage response)
    {
        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await response.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("rate-limited"));
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(5));
    }
}

/// <summary>A host with the default per-tenant bound and a node bound of two, so the node's bound is reached by two permits.</summary>
public sealed class HeavyRouteHost : IAsyncLifetime
{
    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var shared = await ApiHost.SharedAsync();
        Host = await ApiHost.StartAsync(shared.Database, settings: ["--Shohayota:Limits:HeavyPerTenant=1", "--Shohayota:Limits:HeavyPerNode=2"]);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
