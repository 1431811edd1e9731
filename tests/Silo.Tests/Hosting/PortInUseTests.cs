using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Shohayota.Grains.Hosting;
using Shohayota.Silo.Hosting;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.Hosting;

/// <summary>The check of the silo and gateway ports before the silo starts (real sockets on the loopback).</summary>
public sealed class PortInUseTests
{
    [Fact]
    public void APortLeftInTimeWaitByTheLastRunIsNotTaken()
    {
        // The last run's listener accepted a connection and closed it first, so the port has a socket in TIME_WAIT (as a
        // node restarted right after it stopped finds), and no listener.
        int silo;
        using (var last = new TcpListener(IPAddress.Loopback, 0))
        {
            last.Start();
            silo = ((IPEndPoint)last.LocalEndpoint).Port;
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, silo);
            using (var accepted = last.AcceptSocket())
            {
                accepted.Shutdown(SocketShutdown.Both);
            }

            Thread.Sleep(100);
        }

        var check = () => PortInUse.EnsureClusterPortsFree(Configuration(silo, TestDatabase.FreePort()));

        InTimeWait(silo).Should().BeTrue("the test must leave the port in TIME_WAIT to mean anything");
        check.Should().NotThrow();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AListeningPortIsTakenEvenOneSharedAsOrleansListens(bool reuseAddress)
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, reuseAddress);
        other.Start();
        var gateway = ((IPEndPoint)other.LocalEndpoint).Port;

        var check = () => PortInUse.EnsureClusterPortsFree(Configuration(TestDatabase.FreePort(), gateway));

        check.Should().Throw<StartupRefusedException>().WithMessage($"this node's gateway port {gateway} (on 127.0.0.1) is already in use. *");
    }

    private static IConfiguration Configuration(int silo, int gateway) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Shohayota:Cluster:SiloPort"] = silo.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Shohayota:Cluster:GatewayPort"] = gateway.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Shohayota:Cluster:AdvertisedAddress"] = "127.0.0.1",
        })
        .Build();

    /// <summary>Whether a socket on the loopback's <paramref name="port"/> is in TIME_WAIT (state 06 in /proc/net/tcp).</summary>
    private static bool InTimeWait(int port) => File.ReadAllLines("/proc/net/tcp").Skip(1)
        .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Any(f => f[1].EndsWith($":{port:X4}", StringComparison.Ordinal) && f[3] == "06");
}
