using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Shohayota.Grains.Hosting;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// A start that failed because another process listens on one of the node's ports (HTTP, silo or gateway): one line on
/// standard error saying so (the address, for HTTP; the port, for the cluster) and what to do, and exit code 1, instead
/// of an unhandled exception that aborts the process. The host's own log still records the failure.
/// </summary>
public static class PortInUse
{
    private const string Remedy = "Another process listens there: stop it, or give this node other ports " +
        "(--urls for HTTP, --Shohayota:Cluster:SiloPort and --Shohayota:Cluster:GatewayPort for the cluster).";

    /// <summary>
    /// Refuses the start when a process already listens on this node's silo or gateway port. Orleans opens its listeners
    /// with <c>ReuseAddress</c>, which .NET makes <c>SO_REUSEPORT</c> on Linux: a second node of the same account on the
    /// same port would bind beside the first without an error, and the kernel would share the incoming connections
    /// between the two. Each port is bound here on its own, without that option, which any listener refuses. Call it
    /// before the silo starts.
    /// </summary>
    /// <exception cref="StartupRefusedException">A port is taken.</exception>
    public static void EnsureClusterPortsFree(IConfiguration configuration)
    {
        var (address, ports) = ClusterEndpoints(configuration);
        var taken = ports.Where(p => !Binds(address, p.Port)).ToList();
        if (taken.Count > 0)
        {
            throw new StartupRefusedException($"{Names(taken, address)}. {Remedy}");
        }
    }

    /// <summary>
    /// The line for <paramref name="e"/> when a port was taken anywhere in it, else null. The silo's and gateway's
    /// listeners throw a bare socket error that names no port; <see cref="EnsureClusterPortsFree"/> names the taken one
    /// before the silo starts, so this only meets a port taken since, and names both of <paramref name="configuration"/>'s.
    /// </summary>
    public static string? Describe(Exception e, IConfiguration? configuration = null) => Taken(e, 0) is { } what
        ? $"{(what.Length == 0 ? ClusterPorts(configuration) : what)}. {Remedy}"
        : null;

    // Outermost first: Kestrel wraps its error in one that names the address ("Failed to bind to address
    // http://127.0.0.1:5000: address already in use."); the silo's and gateway's listeners throw a bare socket error ("").
    private static string? Taken(Exception? e, int depth) => e switch
    {
        null => null,
        _ when depth > 16 => null,
        IOException { InnerException: AddressInUseException } => e.Message.TrimEnd('.'),
        AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => "",
        AggregateException aggregate => aggregate.InnerExceptions.Select(inner => Taken(inner, depth + 1)).FirstOrDefault(what => what is not null),
        _ => Taken(e.InnerException, depth + 1),
    };

    private static string ClusterPorts(IConfiguration? configuration)
    {
        var (address, ports) = ClusterEndpoints(configuration);
        return $"this node's silo port {ports[0].Port} or gateway port {ports[1].Port} (on {address}) is already in use";
    }

    private static (IPAddress Address, (string Name, int Port)[] Ports) ClusterEndpoints(IConfiguration? configuration)
    {
        var section = configuration?.GetSection(ShohayotaClusterOptions.SectionName);
        var defaults = new ShohayotaClusterOptions();
        var silo = section?.GetValue(nameof(ShohayotaClusterOptions.SiloPort), defaults.SiloPort) ?? defaults.SiloPort;
        var gateway = section?.GetValue(nameof(ShohayotaClusterOptions.GatewayPort), defaults.GatewayPort) ?? defaults.GatewayPort;
        var address = IPAddress.TryParse(section?[nameof(ShohayotaClusterOptions.AdvertisedAddress)] ?? defaults.AdvertisedAddress, out var parsed)
            ? parsed
            : IPAddress.Loopback;
        return (address, [("silo", silo), ("gateway", gateway)]);
    }

    private static string Names(List<(string Name, int Port)> taken, IPAddress address) =>
        string.Join(" and ", taken.Select(p => $"this node's {p.Name} port {p.Port}")) + $" (on {address}) {(taken.Count == 1 ? "is" : "are")} already in use";

    /// <summary>
    /// Whether <paramref name="port"/> binds on <paramref name="address"/> alone: without <c>ReuseAddress</c>, which any
    /// listener refuses. A port left in TIME_WAIT by the node's last run still binds (.NET sets <c>SO_REUSEADDR</c> on
    /// Unix sockets itself; only <c>ReuseAddress</c> adds <c>SO_REUSEPORT</c>).
    /// </summary>
    private static bool Binds(IPAddress address, int port)
    {
        try
        {
            using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(address, port));
            probe.Listen(1);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
        catch (SocketException)
        {
            // Not this node's to judge (an address it cannot bind, say): Orleans' own bind will say what is wrong.
            return true;
        }
    }
}
