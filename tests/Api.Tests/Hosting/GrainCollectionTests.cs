using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>
/// Idle tenants cost nothing for long: <c>Shohayota:Grains:CollectionAge</c> deactivates their grains, and the benchmark-only
/// memory route (bench S10) exists in the Benchmark environment only.
/// </summary>
public sealed class GrainCollectionTests
{
    private static readonly string[] ShortCollection =
        ["--environment=Benchmark", "--Shohayota:Grains:CollectionAge=00:00:03", "--Shohayota:Grains:CollectionQuantum=00:00:01"];

    [Fact]
    public async Task AnIdleTenantsGrainsAreDeactivatedAfterTheConfiguredCollectionAge()
    {
        await using var host = await ApiHost.StartAsync(settings: ShortCollection);
        var tenant = await host.ProvisionTenantAsync();
        var key = GrainKeys.Tenant(tenant.Id);

        using var read = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=1", tenant.Admin.AccessToken);
        var activeAfterRead = await IsActiveAsync(host, key);
        var deactivated = false;
        for (var waited = 0; waited < 60 && !deactivated; waited++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            deactivated = !await IsActiveAsync(host, key);
        }

        read.StatusCode.Should().Be(HttpStatusCode.OK);
        activeAfterRead.Should().BeTrue();
        deactivated.Should().BeTrue("a tenant idle for longer than Shohayota:Grains:CollectionAge (3 s) has its TenantGrain deactivated");
        host.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value.CollectionAge.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task TheCollectionAgeDefaultsToFifteenMinutes()
    {
        var host = await ApiHost.SharedAsync();

        var options = host.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;

        options.CollectionAge.Should().Be(TimeSpan.FromMinutes(15));
        options.CollectionQuantum.Should().Be(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task AQuantumNotShorterThanTheAgeIsRefusedAtStart()
    {
        var start = () => ApiHost.StartAsync(settings: ["--Shohayota:Grains:CollectionAge=00:00:05", "--Shohayota:Grains:CollectionQuantum=00:00:05"]);

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("CollectionQuantum must be less than CollectionAge");
    }

    [Fact]
    public async Task TheBenchmarkMemoryRouteCollectsAndCountsActivationsForSuperAdminsOnlyInTheBenchmarkEnvironment()
    {
        await using var benchmark = await ApiHost.StartAsync(settings: ShortCollection);
        var shared = await ApiHost.SharedAsync();
        var tenant = await benchmark.ProvisionTenantAsync();

        using var measured = await benchmark.SendAsync(HttpMethod.Post, "/api/admin/benchmark/memory", await benchmark.SuperAdminTokenAsync());
        using var byTenantAdmin = await benchmark.SendAsync(HttpMethod.Post, "/api/admin/benchmark/memory", tenant.Admin.AccessToken);
        using var outsideBenchmark = await shared.SendAsync(HttpMethod.Post, "/api/admin/benchmark/memory", await shared.SharedSuperAdminTokenAsync());

        measured.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await measured.JsonAsync();
        body["gcHeapBytes"]!.GetValue<long>().Should().BePositive();
        body["workingSetBytes"]!.GetValue<long>().Should().BePositive();
        body["activations"]!.GetValue<long>().Should().BePositive();
        body["activationsByType"]!.AsObject().Select(t => t.Key).Should().Contain(t => t.Contains("TenantGrain"));
        byTenantAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        outsideBenchmark.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    private static async Task<bool> IsActiveAsync(ApiHost host, string key) =>
        (await host.ActiveGrainsAsync("tenant")).Any(id => id.Key.ToString() == key);
}
