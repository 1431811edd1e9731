using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Npgsql;
using Shohayota.Cluster.Tests.Infrastructure;

namespace Shohayota.Cluster.Tests.Cluster;

/// <summary>One cluster for the transport tests: the nodes that refuse to start never join it.</summary>
public sealed class TransportCluster : IAsyncLifetime
{
    public LocalCluster Cluster { get; private set; } = null!;

    /// <summary>This machine's own address on its network (not loopback): what a node on a real network advertises.</summary>
    public static IPAddress HostAddress { get; } = NetworkInterface.GetAllNetworkInterfaces()
        .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(i => i.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
        ?? throw new InvalidOperationException("These tests need a network interface with an IPv4 address besides the loopback.");

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
        var node = nodes.Cluster.Launch(kind, [$"--Shohayota:Cluster:AdvertisedAddress={TransportCluster.HostAddress}"]);

        var exitCode = await node.WaitForExitAsync(ExitTimeout);

        exitCode.Should().Be(1, node.Output());
        node.Output().Should().Contain("Shohayota cannot start").And.Contain(TransportCluster.HostAddress.ToString())
            .And.Contain("Shohayota:Cluster:Tls:CertificatePath").And.Contain("Shohayota:Cluster:Tls:AuthorityPath")
            .And.Contain("Shohayota:Cluster:AllowInsecureTransport=true").And.NotContain("Unhandled exception");
        (await MembershipRowsAsync(node.Name)).Should().Be(0, "the node refuses before its silo starts");
    }

    [Fact]
    public async Task AllowInsecureTransportStartsANodeOffTheLoopbackWithAWarningAndClientsWithoutItRefuseItsGateway()
    {
        var silo = await nodes.Cluster.StartAsync(NodeKind.Silo,
            [$"--Shohayota:Cluster:AdvertisedAddress={TransportCluster.HostAddress}", "--Shohayota:Cluster:AllowInsecureTransport=true"]);
        var refused = nodes.Cluster.Launch(NodeKind.Client, []);
        var refusedExitCode = await refused.WaitForExitAsync(ExitTimeout);
        var allowed = await nodes.Cluster.StartAsync(NodeKind.Client, ["--Shohayota:Cluster:AllowInsecureTransport=true"]);

        using var health = await allowed.Client.GetAsync("/api/health");

        silo.Output().Should().Contain("INSECURE TRANSPORT Shohayota:Cluster:AllowInsecureTransport=true");
        (await MembershipRowsAsync(silo.Name)).Should().Be(1);
        refusedExitCode.Should().Be(1, refused.Output());
        refused.Output().Should().Contain("Shohayota cannot start").And.Contain($"gateways off the loopback ({TransportCluster.HostAddress}:{silo.GatewayPort})")
            .And.Contain("Shohayota:Cluster:Tls:CertificatePath").And.Contain("Shohayota:Cluster:AllowInsecureTransport=true")
            .And.NotContain("Unhandled exception");
        allowed.Output().Should().Contain("INSECURE TRANSPORT Shohayota:Cluster:AllowInsecureTransport=true");
        health.StatusCode.Should().Be(HttpStatusCode.OK);
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
