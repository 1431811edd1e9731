using System.Net;
using System.Net.Sockets;
using Npgsql;
using Shohayota.Cluster.Tests.Infrastructure;

namespace Shohayota.Cluster.Tests.Cluster;

/// <summary>One cluster for the transport tests: the nodes that refuse to start never join it (one whose HTTP port is taken gets a cluster of its own).</summary>
public sealed class TransportCluster : IAsyncLifetime
{
    public LocalCluster Cluster { get; private set; } = null!;

    /// <summary>
    /// An address off the loopback (TEST-NET-3). Nothing is ever sent to it: a node refuses before it binds, and a client
    /// refuses the gateway list before it connects. Tests here send traffic to the loopback only.
    /// </summary>
    public static IPAddress OffLoopback { get; } = IPAddress.Parse("203.0.113.7");

    public async Task InitializeAsync() => Cluster = await LocalCluster.CreateAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class TransportSecurityTests(TransportCluster nodes) : IClassFixture<TransportCluster>
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(NodeKind.Api)]
    [InlineData(NodeKind.Silo)]
    public async Task ANodeWhosePortsAreOffTheLoopbackRefusesToStartWithoutTls(NodeKind kind)
    {
        var node = nodes.Cluster.Launch(kind, [$"--Shohayota:Cluster:AdvertisedAddress={TransportCluster.OffLoopback}"]);

        var exitCode = await node.WaitForExitAsync(ExitTimeout);

        exitCode.Should().Be(1, node.Output());
        node.Output().Should().Contain("Shohayota cannot start").And.Contain(TransportCluster.OffLoopback.ToString())
            .And.Contain("Shohayota:Cluster:Tls:CertificatePath").And.Contain("Shohayota:Cluster:Tls:AuthorityPath")
            .And.Contain("Shohayota:Cluster:AllowInsecureTransport=true").And.NotContain("Unhandled exception");
        (await MembershipRowsAsync(node.Name)).Should().Be(0, "the node refuses before its silo starts");
    }

    [Theory]
    [InlineData(NodeKind.Api, "http", false)]
    [InlineData(NodeKind.Api, "gateway", false)]
    [InlineData(NodeKind.Silo, "silo", false)]
    [InlineData(NodeKind.Api, "gateway", true)]
    [InlineData(NodeKind.Silo, "silo", true)]
    public async Task ANodeWhosePortIsTakenEndsWithOneLineNamingItAndExitCodeOneNotAnAbort(NodeKind kind, string which, bool likeAnotherNode)
    {
        // Another process listens on the node's HTTP port, its gateway port (the Api) or its silo port (the standalone
        // silo): a plain listener, or one that shares its port as another node's Orleans listener does (ReuseAddress,
        // SO_REUSEPORT on Linux), beside which Orleans' own listener would bind without an error. The Api's silo may join
        // before the failure, so that node gets a cluster of its own: it must not leave a row in this fixture's.
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        if (likeAnotherNode)
        {
            squatter.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }

        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var node = nodes.Cluster.Launch(kind, which switch
        {
            "http" => [$"--urls=http://127.0.0.1:{port}", $"--Shohayota:Cluster:ClusterId=taken-port-{Guid.NewGuid():N}"],
            "gateway" => [$"--Shohayota:Cluster:GatewayPort={port}", $"--Shohayota:Cluster:ClusterId=taken-port-{Guid.NewGuid():N}"],
            _ => [$"--Shohayota:Cluster:SiloPort={port}"],
        });

        var exitCode = await node.WaitForExitAsync(ExitTimeout);

        exitCode.Should().Be(1, node.Output());
        var what = which == "http"
            ? $"Failed to bind to address http://127.0.0.1:{port}: address already in use"
            : $"this node's {which} port {port} (on 127.0.0.1) is already in use";
        node.Output().Should().Contain($"Shohayota cannot start: {what}. Another process listens there: stop it, or give this node other ports " +
            "(--urls for HTTP, --Shohayota:Cluster:SiloPort and --Shohayota:Cluster:GatewayPort for the cluster).").And.NotContain("Unhandled exception");
        node.Output().Split('\n').Count(l => l.StartsWith("Shohayota cannot start", StringComparison.Ordinal)).Should().Be(1, node.Output());
        node.Output().Should().NotContain("failed too", "nothing else goes to standard error beside the one line");
    }

    [Fact]
    public async Task AllowInsecureTransportStartsANodeWithAWarningAndAClientWithoutTlsRefusesGatewaysOffTheLoopback()
    {
        var silo = await nodes.Cluster.StartAsync(NodeKind.Silo, ["--Shohayota:Cluster:AllowInsecureTransport=true"]);
        var allowed = await nodes.Cluster.StartAsync(NodeKind.Client, ["--Shohayota:Cluster:AllowInsecureTransport=true"]);
        using var health = await allowed.Client.GetAsync("/api/health");

        // Another cluster whose one gateway is off the loopback: only a membership row, so no silo of ours probes it and
        // the client must refuse the list before it opens a connection.
        var remote = "remote-" + Guid.NewGuid().ToString("N")[..8];
        await AddGatewayRowAsync(remote, TransportCluster.OffLoopback, 30000);
        var refused = nodes.Cluster.Launch(NodeKind.Client, [$"--Shohayota:Cluster:ClusterId={remote}"]);
        var refusedExitCode = await refused.WaitForExitAsync(ExitTimeout);

        silo.Output().Should().Contain("INSECURE TRANSPORT Shohayota:Cluster:AllowInsecureTransport=true");
        (await MembershipRowsAsync(silo.Name)).Should().Be(1);
        allowed.Output().Should().Contain("INSECURE TRANSPORT Shohayota:Cluster:AllowInsecureTransport=true");
        health.StatusCode.Should().Be(HttpStatusCode.OK);
        refusedExitCode.Should().Be(1, refused.Output());
        refused.Output().Should().Contain("Shohayota cannot start").And.Contain($"gateways off the loopback ({TransportCluster.OffLoopback}:30000)")
            .And.Contain("Shohayota:Cluster:Tls:CertificatePath").And.Contain("Shohayota:Cluster:AllowInsecureTransport=true")
            .And.NotContain("Unhandled exception");
    }

    private async Task AddGatewayRowAsync(string clusterId, IPAddress address, int gatewayPort)
    {
        await using var connection = new NpgsqlConnection(nodes.Cluster.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using (var version = new NpgsqlCommand("INSERT INTO orleans_membership_version (deployment_id) VALUES ($1)", connection))
        {
            version.Parameters.Add(new NpgsqlParameter { Value = clusterId });
            await version.ExecuteNonQueryAsync();
        }

        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO orleans_membership (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
            VALUES ($1, $2, 11111, 1, 'remote', 'remote', 3, $3, now(), now())
            """, connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = clusterId });
        insert.Parameters.Add(new NpgsqlParameter { Value = address.ToString() });
        insert.Parameters.Add(new NpgsqlParameter { Value = gatewayPort });
        await insert.ExecuteNonQueryAsync();
    }

    private async Task<long> MembershipRowsAsync(string siloName)
    {
        await using var connection = new NpgsqlConnection(nodes.Cluster.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM orleans_membership WHERE deployment_id = $1 AND silo_name = $2", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = nodes.Cluster.ClusterId });
        count.Parameters.Add(new NpgsqlParameter { Value = siloName });
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
