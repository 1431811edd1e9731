using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shohayota.Cluster.Tests.Infrastructure;

namespace Shohayota.Cluster.Tests.Cluster;

/// <summary>An Api node with its silo, a standalone silo and an Api node in client mode, started together.</summary>
public sealed class ThreeKindsOfNode : IAsyncLifetime
{
    public LocalCluster Cluster { get; private set; } = null!;

    public ClusterNode Api { get; private set; } = null!;

    public ClusterNode Silo { get; private set; } = null!;

    public ClusterNode Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.CreateAsync();
        var silos = await Cluster.StartAsync(NodeKind.Api, NodeKind.Silo);
        (Api, Silo) = (silos[0], silos[1]);
        // A client needs a gateway in the membership table when it starts.
        Client = await Cluster.StartAsync(NodeKind.Client);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class NodeKindsTests(ThreeKindsOfNode nodes) : IClassFixture<ThreeKindsOfNode>
{
    [Fact]
    public async Task ApiNodeStandaloneSiloAndClientNodeServeOneCluster()
    {
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.Client);

        using var created = await LocalCluster.CreateCustomerAsync(nodes.Client, tenant, "made-through-the-client");
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())?["id"]?.GetValue<string>();
        using var readOnApi = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Get, $"/api/customers/{id}", tenant.Token);
        using var health = await nodes.Client.Client.GetAsync("/api/health");
        var cluster = await ClusterViewAsync(nodes.Client);

        created.StatusCode.Should().Be(HttpStatusCode.Created, nodes.Cluster.Output());
        readOnApi.StatusCode.Should().Be(HttpStatusCode.OK);
        health.StatusCode.Should().Be(HttpStatusCode.OK, await health.Content.ReadAsStringAsync());
        cluster["clusterId"]!.GetValue<string>().Should().Be(nodes.Cluster.ClusterId);
        cluster["answeredBy"]!["name"]!.GetValue<string>().Should().Be(nodes.Client.Name);
        cluster["answeredBy"]!["mode"]!.GetValue<string>().Should().Be("client");
        var active = cluster["silos"]!.AsArray().Where(s => s!["status"]!.GetValue<string>() == "active").ToList();
        active.Select(s => s!["name"]!.GetValue<string>()).Should().Contain([nodes.Api.Name, nodes.Silo.Name]).And.NotContain(nodes.Client.Name);
        active.Should().AllSatisfy(s =>
        {
            s!["activations"]!.GetValue<int>().Should().BePositive();
            s["startedAt"]!.GetValue<DateTimeOffset>().Should().BeBefore(DateTimeOffset.UtcNow);
            s["endpoint"]!.GetValue<string>().Should().StartWith("127.0.0.1:");
        });
    }

    [Fact]
    public async Task ClusterViewNamesTheAnsweringSiloOnAnApiNode()
    {
        var cluster = await ClusterViewAsync(nodes.Api);

        cluster["answeredBy"]!["mode"]!.GetValue<string>().Should().Be("cohosted");
        cluster["answeredBy"]!["name"]!.GetValue<string>().Should().Be(nodes.Api.Name);
        cluster["silos"]!.AsArray().Where(s => s!["thisNode"]!.GetValue<bool>()).Select(s => s!["name"]!.GetValue<string>())
            .Should().Equal(nodes.Api.Name);
    }

    [Fact]
    public async Task ClusterViewIsForSuperAdminsOnly()
    {
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.Api);

        using var asTenantAdmin = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Get, "/api/admin/cluster", tenant.Token);
        using var anonymous = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Get, "/api/admin/cluster", null);
        using var resetAsTenantAdmin = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Post, "/api/admin/database/reset-pool", tenant.Token);

        asTenantAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        resetAsTenantAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ResetPoolClearsThisNodesConnectionsAndIsAudited()
    {
        var token = await nodes.Cluster.SuperAdminTokenAsync(nodes.Api);
        await nodes.Cluster.ProvisionTenantAsync(nodes.Api);
        var idleBefore = await BackendsAsync("shohayota/" + nodes.Api.Name, idleOnly: true);

        using var reset = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Post, "/api/admin/database/reset-pool", token);
        var body = (await reset.Content.ReadFromJsonAsync<JsonObject>())!;
        using var log = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Get, "/api/audit-logs?tenantId=system&action=database.pool_reset", token);
        var entries = (await log.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        using var afterwards = await LocalCluster.SendAsync(nodes.Api, HttpMethod.Get, "/api/admin/tenants", token);

        reset.StatusCode.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["node"]!.GetValue<string>().Should().Be(nodes.Api.Name);
        body["applicationName"]!.GetValue<string>().Should().Be("shohayota/" + nodes.Api.Name);
        var before = body["before"]!["total"]!.GetValue<long>();
        before.Should().BePositive("the node had used its pool: {0}", body.ToJsonString());
        idleBefore.Should().NotBeEmpty();
        // The node keeps working (metering, reminders, the audit entry) and opens new connections at once, so the count
        // after may be as high as before; what the reset guarantees is that the connections it had are closed.
        var stillOpen = idleBefore;
        for (var attempt = 0; attempt < 50 && stillOpen.Count > 0; attempt++)
        {
            await Task.Delay(100);
            stillOpen = [.. stillOpen.Intersect(await BackendsAsync("shohayota/" + nodes.Api.Name, idleOnly: false))];
        }

        stillOpen.Should().BeEmpty("every connection idle before the reset is closed: {0}", body.ToJsonString());
        entries.Should().Contain(e => e!["target"]!["id"]!.GetValue<string>() == nodes.Api.Name && e["actor"]!["email"]!.GetValue<string>() == nodes.Cluster.SuperAdminEmail);
        afterwards.StatusCode.Should().Be(HttpStatusCode.OK, "the node reconnects by itself after a reset");
    }

    /// <summary>The server processes of this node's connections (its application_name), idle ones only or all, as the superuser sees them.</summary>
    private async Task<List<int>> BackendsAsync(string applicationName, bool idleOnly)
    {
        await using var connection = new Npgsql.NpgsqlConnection(nodes.Cluster.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new Npgsql.NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND (NOT $2 OR state = 'idle')", connection);
        select.Parameters.Add(new Npgsql.NpgsqlParameter { Value = applicationName });
        select.Parameters.Add(new Npgsql.NpgsqlParameter { Value = idleOnly });
        var pids = new List<int>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }

    [Fact]
    public async Task SigtermRemovesAStandaloneSiloFromTheClusterGracefully()
    {
        var leaving = await nodes.Cluster.StartAsync(NodeKind.Silo);
        var tenant = await nodes.Cluster.ProvisionTenantAsync(nodes.Client);

        var exitCode = await leaving.TerminateAsync(TimeSpan.FromSeconds(60));
        var cluster = await ClusterViewAsync(nodes.Client);
        using var served = await LocalCluster.CreateCustomerAsync(nodes.Client, tenant, "after-the-silo-left");

        exitCode.Should().Be(0, leaving.Output());
        leaving.Output().Should().Contain("left the cluster");
        cluster["silos"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == leaving.Name)!["status"]!.GetValue<string>()
            .Should().Be("dead", "a graceful shutdown marks the silo dead in the membership table itself");
        served.StatusCode.Should().Be(HttpStatusCode.Created);
    }

    private async Task<JsonObject> ClusterViewAsync(ClusterNode via)
    {
        using var response = await LocalCluster.SendAsync(via, HttpMethod.Get, "/api/admin/cluster", await nodes.Cluster.SuperAdminTokenAsync(via));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!.AsObject();
    }
}
