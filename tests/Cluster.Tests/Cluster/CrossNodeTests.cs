using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Cluster.Tests.Infrastructure;

namespace Shohayota.Cluster.Tests.Cluster;

/// <summary>Two Api nodes on different ports, one cluster.</summary>
public sealed class TwoApiNodes : IAsyncLifetime
{
    public LocalCluster Cluster { get; private set; } = null!;

    public ClusterNode A { get; private set; } = null!;

    public ClusterNode B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.CreateAsync();
        var nodes = await Cluster.StartAsync(NodeKind.Api, NodeKind.Api);
        (A, B) = (nodes[0], nodes[1]);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class CrossNodeTests(TwoApiNodes nodes) : IClassFixture<TwoApiNodes>
{
    [Fact]
    public async Task ConcurrentCreatesThroughTwoNodesCreateExactlyTheRoomTheQuotaLeaves()
    {
        const int room = 25;
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.A, customerQuota: room);

        var responses = await Task.WhenAll(Enumerable.Range(0, 80).Select(async i =>
        {
            var via = i % 2 == 0 ? nodes.A : nodes.B;
            using var response = await LocalCluster.CreateCustomerAsync(via, tenant, $"quota-{i}");
            var body = await response.Content.ReadAsStringAsync();
            return (Status: response.StatusCode, Type: response.IsSuccessStatusCode ? null : JsonNode.Parse(body)?["type"]?.GetValue<string>());
        }));
        var rows = await nodes.Cluster.CustomerRowsAsync([tenant.Id]);

        responses.Count(r => r.Status == HttpStatusCode.Created).Should().Be(room);
        responses.Where(r => r.Status != HttpStatusCode.Created).Should().AllSatisfy(r =>
        {
            r.Status.Should().Be(HttpStatusCode.Forbidden);
            r.Type.Should().Be("https://shohayota.dev/problems/quota-exceeded");
        });
        rows.Should().HaveCount(room);
    }

    [Fact]
    public async Task SuspendingATenantThroughOneNodeRefusesItsLiveTokensOnTheOtherWithinFiveSeconds()
    {
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.A);
        using var before = await LocalCluster.SendAsync(nodes.B, HttpMethod.Get, "/api/customers", tenant.Token);
        var superAdmin = await nodes.Cluster.SuperAdminTokenAsync(nodes.A);

        using var suspended = await LocalCluster.SendAsync(nodes.A, HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/suspend", superAdmin, new { reason = "cluster test" });
        var clock = Stopwatch.StartNew();
        HttpResponseMessage? refused = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var attempt = await LocalCluster.SendAsync(nodes.B, HttpMethod.Get, "/api/customers", tenant.Token);
            if (attempt.StatusCode == HttpStatusCode.Forbidden)
            {
                refused = attempt;
                break;
            }

            attempt.Dispose();
            await Task.Delay(100);
        }

        var refusedAfter = clock.Elapsed;

        before.StatusCode.Should().Be(HttpStatusCode.OK);
        suspended.StatusCode.Should().Be(HttpStatusCode.OK);
        refused.Should().NotBeNull("node B must refuse the suspended tenant's token");
        refusedAfter.Should().BeLessThan(TimeSpan.FromSeconds(5));
        JsonNode.Parse(await refused!.Content.ReadAsStringAsync())!["type"]!.GetValue<string>().Should().Be("https://shohayota.dev/problems/tenant-suspended");
        refused.Dispose();
    }

    [Fact]
    public async Task AnApiKeyRevokedThroughOneNodeIsRefusedOnTheOtherWithinFiveSeconds()
    {
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.A);
        using var created = await LocalCluster.SendAsync(nodes.A, HttpMethod.Post, "/api/api-keys", tenant.Token, new { name = "cluster job", role = "member" });
        var body = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        var key = body["secret"]!.GetValue<string>();
        // Node B holds the key, and keeps using it, before it is revoked through A.
        using var before = await LocalCluster.SendAsync(nodes.B, HttpMethod.Get, "/api/customers", key);
        using var stillBefore = await LocalCluster.SendAsync(nodes.B, HttpMethod.Get, "/api/customers", key);

        using var revoked = await LocalCluster.SendAsync(nodes.A, HttpMethod.Delete, $"/api/api-keys/{body["id"]!.GetValue<string>()}", tenant.Token);
        var (refused, refusedAfter) = await FirstRefusalAsync(nodes.B, key);

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        before.StatusCode.Should().Be(HttpStatusCode.OK);
        stillBefore.StatusCode.Should().Be(HttpStatusCode.OK);
        revoked.StatusCode.Should().Be(HttpStatusCode.OK);
        refused.Should().Be(HttpStatusCode.Unauthorized, "node B must refuse the revoked key");
        refusedAfter.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AKeysOwnRateLimitHoldsAcrossBothNodesNotPerNode()
    {
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.A);
        using var created = await LocalCluster.SendAsync(nodes.A, HttpMethod.Post, "/api/api-keys", tenant.Token,
            new { name = "partner", role = "member", rateLimitPerMinute = 4 });
        var key = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();

        // Eight requests in turn through A and B: a limit kept per node would admit all eight (four on each).
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await LocalCluster.SendAsync(i % 2 == 0 ? nodes.A : nodes.B, HttpMethod.Get, "/api/customers", key);
            statuses.Add(response.StatusCode);
        }

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        statuses.Count(s => s == HttpStatusCode.OK).Should().Be(4, "the key may make 4 requests a minute whichever node they reach: {0}", string.Join(", ", statuses));
        statuses.Skip(4).Should().AllBeEquivalentTo(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task ASupportSessionEndedThroughOneNodeIsRefusedOnTheOtherWithinFiveSeconds()
    {
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.A);
        var superAdmin = await nodes.Cluster.SuperAdminTokenAsync(nodes.A);
        using var users = await LocalCluster.SendAsync(nodes.A, HttpMethod.Get, "/api/users", tenant.Token);
        var adminId = JsonNode.Parse(await users.Content.ReadAsStringAsync())!["items"]!.AsArray()[0]!["id"]!.GetValue<string>();
        using var opened = await LocalCluster.SendAsync(nodes.A, HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/support-sessions", superAdmin,
            new { userId = adminId, reason = "cluster test", minutes = 10 });
        var body = JsonNode.Parse(await opened.Content.ReadAsStringAsync())!;
        var token = body["accessToken"]!.GetValue<string>();
        using var before = await LocalCluster.SendAsync(nodes.B, HttpMethod.Get, "/api/customers", token);

        using var ended = await LocalCluster.SendAsync(nodes.A, HttpMethod.Delete, $"/api/tenants/support-sessions/{body["session"]!["id"]!.GetValue<string>()}",
            tenant.Token);
        var (refused, refusedAfter) = await FirstRefusalAsync(nodes.B, token);

        opened.StatusCode.Should().Be(HttpStatusCode.Created);
        before.StatusCode.Should().Be(HttpStatusCode.OK);
        ended.StatusCode.Should().Be(HttpStatusCode.OK);
        refused.Should().Be(HttpStatusCode.Unauthorized, "node B must refuse the ended session's token");
        refusedAfter.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    /// <summary>Reads through <paramref name="node"/> every 100 ms (for up to 10 s) until a read is not 200: its status and when.</summary>
    private static async Task<(HttpStatusCode? Status, TimeSpan After)> FirstRefusalAsync(ClusterNode node, string credential)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var attempt = await LocalCluster.SendAsync(node, HttpMethod.Get, "/api/customers", credential);
            if (attempt.StatusCode != HttpStatusCode.OK)
            {
                return (attempt.StatusCode, clock.Elapsed);
            }

            await Task.Delay(100);
        }

        return (null, clock.Elapsed);
    }
}
