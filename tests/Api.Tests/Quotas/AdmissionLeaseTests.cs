using System.Diagnostics;
using System.Net;
using FluentAssertions.Execution;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Auth;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Quotas;

/// <summary>
/// Two front ends of one cluster admitting from their own leases of each TenantGrain: <see cref="TwoNodes.Pushed"/> holds
/// leases for five minutes and learns changes only by push; <see cref="TwoNodes.Expiring"/> gets no push (a lost one) and
/// holds leases for a second. Each guarantee of per-request admission must hold on both.
/// </summary>
public sealed class AdmissionLeaseTests(AdmissionLeaseTests.TwoNodes nodes) : IClassFixture<AdmissionLeaseTests.TwoNodes>
{
    private static readonly TimeSpan ExpiringLease = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PushDeadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task SuspensionRefusesTheNextRequestAtOnceWherePushedAndWithinALeaseWhereThePushIsLost()
    {
        var tenant = await nodes.Pushed.ProvisionTenantAsync();
        await HoldABlockAsync(nodes.Pushed, tenant.Id, tenant.Admin.AccessToken);
        (await StatusAsync(nodes.Expiring, HttpMethod.Get, tenant.Admin.AccessToken)).Should().Be(HttpStatusCode.OK);

        using var suspended = await nodes.Pushed.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend", new { reason = "unpaid" });
        var changedAt = Stopwatch.GetTimestamp();
        var pushed = await RefusalAfterPushAsync(nodes.Pushed, tenant.Id, HttpMethod.Get, tenant.Admin.AccessToken);
        await WaitUntilAsync(changedAt, ExpiringLease);
        using var expired = await nodes.Expiring.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);

        using var scope = new AssertionScope();
        suspended.StatusCode.Should().Be(HttpStatusCode.OK);
        pushed.Should().Be("tenant-suspended", "the grain pushed the change to the node holding a five-minute lease");
        (await expired.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-suspended"), "a lease without push ends within a second");
    }

    [Fact]
    public async Task ADisabledUserIsRefusedAtOnceWherePushedAndWithinALeaseWhereThePushIsLost()
    {
        var tenant = await nodes.Pushed.ProvisionTenantAsync();
        var member = await nodes.Pushed.AddUserAsync(tenant);
        var memberId = member.Body["user"]!["id"]!.GetValue<Guid>();
        await HoldABlockAsync(nodes.Pushed, tenant.Id, member.AccessToken, "/api/auth/me");
        (await StatusAsync(nodes.Expiring, HttpMethod.Get, member.AccessToken, "/api/auth/me")).Should().Be(HttpStatusCode.OK);

        using var disabled = await nodes.Pushed.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/disable", tenant.Admin.AccessToken);
        var changedAt = Stopwatch.GetTimestamp();
        var pushed = await RefusalAfterPushAsync(nodes.Pushed, tenant.Id, HttpMethod.Get, member.AccessToken, "/api/auth/me");
        await WaitUntilAsync(changedAt, ExpiringLease);
        using var expired = await nodes.Expiring.SendAsync(HttpMethod.Get, "/api/auth/me", member.AccessToken);
        using var admin = await nodes.Expiring.SendAsync(HttpMethod.Get, "/api/auth/me", tenant.Admin.AccessToken);

        using var scope = new AssertionScope();
        disabled.IsSuccessStatusCode.Should().BeTrue();
        pushed.Should().Be("user-disabled");
        (await expired.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("user-disabled"));
        admin.StatusCode.Should().Be(HttpStatusCode.OK, "only the disabled user is refused");
    }

    [Fact]
    public async Task ACanceledTenantsWritesAreRefusedAndItsReadsAdmittedOnBothNodes()
    {
        var tenant = await nodes.Pushed.ProvisionTenantAsync();
        await HoldABlockAsync(nodes.Pushed, tenant.Id, tenant.Admin.AccessToken);
        (await StatusAsync(nodes.Expiring, HttpMethod.Get, tenant.Admin.AccessToken)).Should().Be(HttpStatusCode.OK);

        using var canceled = await nodes.Pushed.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/cancel");
        var changedAt = Stopwatch.GetTimestamp();
        var pushed = await RefusalAfterPushAsync(nodes.Pushed, tenant.Id, HttpMethod.Post, tenant.Admin.AccessToken, "/api/customers");
        await WaitUntilAsync(changedAt, ExpiringLease);
        using var write = await nodes.Expiring.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Late" });
        var reads = new[]
        {
            await StatusAsync(nodes.Pushed, HttpMethod.Get, tenant.Admin.AccessToken),
            await StatusAsync(nodes.Expiring, HttpMethod.Get, tenant.Admin.AccessToken),
        };

        using var scope = new AssertionScope();
        canceled.StatusCode.Should().Be(HttpStatusCode.OK);
        pushed.Should().Be("tenant-canceled");
        (await write.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-canceled"));
        reads.Should().AllBeEquivalentTo(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheRateLimitHoldsAcrossBothNodes()
    {
        var tenant = await nodes.Pushed.ProvisionTenantAsync(TwoNodes.TricklePlan);
        var started = Stopwatch.GetTimestamp();

        var statuses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            StatusAsync(i % 2 == 0 ? nodes.Pushed : nodes.Expiring, HttpMethod.Get, tenant.Admin.AccessToken)));
        var elapsed = Stopwatch.GetElapsedTime(started);

        var admitted = statuses.Count(s => s == HttpStatusCode.OK);
        admitted.Should().BeGreaterThan(0);
        // Burst 10, then 0.1 a second: one bucket for the cluster, not one per node (that would admit 20).
        admitted.Should().BeLessThanOrEqualTo(10 + (int)Math.Ceiling(elapsed.TotalSeconds * TwoNodes.TrickleRate));
        statuses.Where(s => s != HttpStatusCode.OK).Should().AllBeEquivalentTo(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task ABurstOnColdLeasesIsAdmittedInFullWhileTheTenantsRateHasRoom()
    {
        var tenant = await nodes.Pushed.ProvisionTenantAsync("enterprise");
        // A change of the rules revokes every lease: both nodes start the burst from nothing, their rate unknown.
        using var overridden = await nodes.Pushed.AdminTenantsAsync(HttpMethod.Put, $"{tenant.Id}/quotas", new { customers = 25, reason = "burst" });

        // 300 at once, far within the plan's burst (40,000) and each node's share of it (20,000): none may be refused. On
        // the node of 10 ms leases, answers that arrive after their lease ended are asked again, not refused. The route
        // reads its user grain's memory, not the database: 100 requests at once on a node must not also need 100
        // connections (three nodes' pools could then exhaust the test server's, a 503 that says nothing of admission).
        var statuses = await Task.WhenAll(Enumerable.Range(0, 300).Select(i =>
            StatusAsync((i % 3) switch { 0 => nodes.Pushed, 1 => nodes.Expiring, _ => nodes.Brief }, HttpMethod.Get, tenant.Admin.AccessToken, "/api/auth/me")));

        overridden.StatusCode.Should().Be(HttpStatusCode.OK);
        statuses.Should().AllBeEquivalentTo(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ABurstWhoseLeaseIsRevokedAgainAndAgainIsAdmittedInFullOnceTheRevocationsStop()
    {
        var tenant = await nodes.Pushed.ProvisionTenantAsync("enterprise");
        var cache = nodes.Pushed.Services.GetRequiredService<AdmissionCache>();

        // What the node is told on every change of the tenant's rules, and when another node waits for the month's last
        // calls: drop the lease and give its block back. A block given back was never refused to the requests waiting for
        // it: they ask again (the quota test below lost such requests to 429 when both nodes wanted the month's last calls).
        var burst = Enumerable.Range(0, 100).Select(_ => StatusAsync(nodes.Pushed, HttpMethod.Get, tenant.Admin.AccessToken, "/api/auth/me")).ToList();
        for (var from = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(from) < TimeSpan.FromMilliseconds(500);)
        {
            await cache.RevokeAsync(tenant.Id);
            await Task.Delay(1);
        }

        var statuses = await Task.WhenAll(burst);

        statuses.Should().AllBeEquivalentTo(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheMonthlyApiCallQuotaAdmitsExactlyItsLimitAcrossBothNodesAndCountsExactlyThat()
    {
        const int limit = 15;
        var tenant = await nodes.Pushed.ProvisionTenantAsync();
        var before = (await QuotasAsync(tenant.Id)).Quotas[QuotaNames.ApiCallsMonthly].Used;
        using var overridden = await nodes.Pushed.AdminTenantsAsync(HttpMethod.Put, $"{tenant.Id}/quotas", new { apiCallsMonthly = before + limit });

        var statuses = await Task.WhenAll(Enumerable.Range(0, limit + 15).Select(i =>
            StatusAsync(i % 2 == 0 ? nodes.Pushed : nodes.Expiring, HttpMethod.Get, tenant.Admin.AccessToken)));
        var after = (await QuotasAsync(tenant.Id)).Quotas[QuotaNames.ApiCallsMonthly];

        overridden.StatusCode.Should().Be(HttpStatusCode.OK);
        statuses.Count(s => s == HttpStatusCode.OK).Should().Be(limit);
        statuses.Where(s => s != HttpStatusCode.OK).Should().AllBeEquivalentTo(HttpStatusCode.Forbidden);
        after.Used.Should().Be(before + limit);
    }

    private static async Task<HttpStatusCode> StatusAsync(ApiHost node, HttpMethod method, string token, string path = "/api/users")
    {
        using var response = await node.SendAsync(method, path, token, method == HttpMethod.Get ? null : new { name = "Probe" });
        return response.StatusCode;
    }

    /// <summary>
    /// Requests on the node until it holds a block of the tenant's admissions (so running out cannot explain a refusal);
    /// how many requests that took.
    /// </summary>
    internal static async Task<int> HoldABlockAsync(ApiHost node, Guid tenant, string token, string path = "/api/users")
    {
        var cache = node.Services.GetRequiredService<AdmissionCache>();
        var requests = 0;
        for (; requests < 50 && cache.Holding(tenant) < 5; requests++)
        {
            (await StatusAsync(node, HttpMethod.Get, token, path)).Should().Be(HttpStatusCode.OK);
        }

        cache.Holding(tenant).Should().BeGreaterThanOrEqualTo(5);
        return requests;
    }

    /// <summary>
    /// Waits (without requests) until the node has dropped its five-minute lease, which only a push makes it do (the push is
    /// one-way: it may land just after the change's response), then asks once; the refusal's problem kind, null if admitted.
    /// </summary>
    private static async Task<string?> RefusalAfterPushAsync(ApiHost node, Guid tenant, HttpMethod method, string token, string path = "/api/users")
    {
        var cache = node.Services.GetRequiredService<AdmissionCache>();
        var deadline = Stopwatch.GetTimestamp() + (long)(PushDeadline.TotalSeconds * Stopwatch.Frequency);
        while (cache.Holding(tenant) > 0 && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20);
        }

        using var response = await node.SendAsync(method, path, token, method == HttpMethod.Get ? null : new { name = "Probe" });
        return response.IsSuccessStatusCode ? null : (await response.ProblemTypeAsync()).Split('/')[^1];
    }

    private static async Task WaitUntilAsync(long from, TimeSpan span)
    {
        var left = span - Stopwatch.GetElapsedTime(from);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }
    }

    private Task<QuotaReport> QuotasAsync(Guid tenant) => QuotasAsync(nodes.Pushed, tenant);

    /// <summary>The tenant's quota report straight from its TenantGrain, as the node (it counts what every lease holds).</summary>
    internal static async Task<QuotaReport> QuotasAsync(ApiHost node, Guid tenant)
    {
        node.Services.GetRequiredService<CallerSigner>().EnterSystem();
        var report = await node.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant)).GetQuotasAsync();
        RequestContext.Clear();
        return report!;
    }

    public sealed class TwoNodes : IAsyncLifetime
    {
        public const string TricklePlan = "trickle";
        public const double TrickleRate = 0.1;

        public ApiHost Pushed { get; private set; } = null!;

        public ApiHost Expiring { get; private set; } = null!;

        /// <summary>Leases of 10 ms: most renewals' answers arrive after their lease has ended.</summary>
        public ApiHost Brief { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var database = await TestDatabase.SharedAsync();
            string[] cluster =
            [
                $"--Shohayota:Cluster:ClusterId=admission-{Guid.NewGuid():N}",
                $"--Shohayota:Plans:{TricklePlan}:Users=10",
                $"--Shohayota:Plans:{TricklePlan}:Customers=100",
                $"--Shohayota:Plans:{TricklePlan}:ApiCallsMonthly=1000000",
                $"--Shohayota:Plans:{TricklePlan}:StorageBytes=100000000",
                $"--Shohayota:Plans:{TricklePlan}:RateLimitPerSecond={TrickleRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                $"--Shohayota:Plans:{TricklePlan}:RateLimitBurst=10",
            ];
            Pushed = await ApiHost.StartAsync(database, settings: [.. cluster, "--Shohayota:Admission:LeaseDuration=00:05:00"]);
            Expiring = await ApiHost.StartAsync(database, settings:
                [.. cluster, $"--Shohayota:Admission:LeaseDuration={ExpiringLease:c}", "--Shohayota:Admission:Push=false"]);
            Brief = await ApiHost.StartAsync(database, settings: [.. cluster, "--Shohayota:Admission:LeaseDuration=00:00:00.010"]);
        }

        public async Task DisposeAsync()
        {
            await Brief.DisposeAsync();
            await Expiring.DisposeAsync();
            await Pushed.DisposeAsync();
        }
    }
}
