using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Shohayota.Api.Auth;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Quotas;

/// <summary>
/// A node's admission leases end with the tenant's monthly API calls equal to the requests the node admitted: when the
/// node stops gracefully, and when a report to the TenantGrain fails on the way (the next one carries it). Both nodes hold
/// leases for five minutes, so no expiry or sweep gives anything back during a test.
/// </summary>
public sealed class AdmissionSettlementTests(AdmissionSettlementTests.Cluster cluster) : IClassFixture<AdmissionSettlementTests.Cluster>
{
    [Fact]
    public async Task AGracefullyStoppedNodeGivesBackTheAdmissionsItsLeasesHeld()
    {
        var tenant = await cluster.Resident.ProvisionTenantAsync();
        var before = await ApiCallsAsync(tenant.Id);
        await using var leaving = await cluster.StartNodeAsync();
        var calls = await AdmissionLeaseTests.HoldABlockAsync(leaving, tenant.Id, tenant.Admin.AccessToken);
        var held = leaving.Services.GetRequiredService<AdmissionCache>().Holding(tenant.Id);

        await leaving.DisposeAsync();
        var after = await ApiCallsAsync(tenant.Id);

        held.Should().BeGreaterThan(0, "the stopped node held unused admissions");
        after.Should().Be(before + calls, "the tenant's monthly API calls are the requests made, not what the node had leased");
    }

    [Fact]
    public async Task ALeaseReportThatDoesNotReachTheGrainGoesWithTheNextOne()
    {
        var tenant = await cluster.Resident.ProvisionTenantAsync();
        var before = await ApiCallsAsync(tenant.Id);
        var calls = await AdmissionLeaseTests.HoldABlockAsync(cluster.Resident, tenant.Id, tenant.Admin.AccessToken);
        var cache = cluster.Resident.Services.GetRequiredService<AdmissionCache>();
        cluster.Faults.FailNextRelease(tenant.Id);

        var failed = await Record.ExceptionAsync(() => cache.SettleAsync(tenant.Id));
        var heldAfterTheFailure = cache.Holding(tenant.Id);
        await cache.SettleAsync(tenant.Id);
        var after = await ApiCallsAsync(tenant.Id);

        failed.Should().BeOfType<SiloUnavailableException>();
        heldAfterTheFailure.Should().BeGreaterThan(0, "the admissions it failed to give back are still the node's");
        after.Should().Be(before + calls);
    }

    private async Task<long> ApiCallsAsync(Guid tenant) =>
        (await AdmissionLeaseTests.QuotasAsync(cluster.Resident, tenant)).Quotas[QuotaNames.ApiCallsMonthly].Used;

    /// <summary>One resident node (with <see cref="Faults"/> on its grain calls) that tests add nodes to.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private readonly string _clusterId = $"settlement-{Guid.NewGuid():N}";

        public FailingReleases Faults { get; } = new();

        public ApiHost Resident { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Resident = await ApiHost.StartAsync(await TestDatabase.SharedAsync(), s => s.AddSingleton<IOutgoingGrainCallFilter>(Faults), Settings);

        /// <summary>Another node of the cluster; the test stops it.</summary>
        public async Task<ApiHost> StartNodeAsync() => await ApiHost.StartAsync(await TestDatabase.SharedAsync(), settings: Settings);

        public async Task DisposeAsync() => await Resident.DisposeAsync();

        private string[] Settings => [$"--Shohayota:Cluster:ClusterId={_clusterId}", "--Shohayota:Admission:LeaseDuration=00:05:00"];
    }

    /// <summary>Fails the next lease release (a report with no new lease wanted) sent to one tenant's grain, before it leaves the node.</summary>
    public sealed class FailingReleases : IOutgoingGrainCallFilter
    {
        private string? _target;

        public void FailNextRelease(Guid tenant) => Volatile.Write(ref _target, GrainKeys.Tenant(tenant));

        public Task Invoke(IOutgoingGrainCallContext context)
        {
            if (context.InterfaceMethod?.Name == nameof(ITenantGrain.LeaseAsync) &&
                context.Request.GetArgument(0) is AdmissionLeaseRequest { Want: 0 } &&
                Volatile.Read(ref _target) is { } target && context.TargetId.Key.ToString() == target &&
                Interlocked.CompareExchange(ref _target, null, target) == target)
            {
                throw new SiloUnavailableException("Injected: the lease report did not reach the grain.");
            }

            return context.Invoke();
        }
    }
}
