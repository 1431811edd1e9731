using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// A start that failed because another process listens on one of the node's ports (HTTP, silo or gateway): one line on
/// standard error saying so (the address, for HTTP) and what to do, and exit code 1, instead of an unhandled exception
/// that aborts the process. The host's own log still records the failure.
/// </summary>
public static class PortInUse
{
    /// <summary>The line for <paramref name="e"/> when a port was taken anywhere in it, else null.</summary>
    public static string? Describe(Exception e)
    {
        var (outer, found) = Find(e, null);
        if (!found)
        {
            return null;
        }

        // Kestrel names the address ("Failed to bind to address http://127.0.0.1:5000: address already in use."); a
        // socket error alone does not.
        var what = outer?.Message.TrimEnd('.') ?? "this node's silo or gateway port is already in use";
        return $"{what}. Another process listens there: stop it, or give this node " +
            "other ports (--urls for HTTP, --Shohayota:Cluster:SiloPort and --Shohayota:Cluster:GatewayPort for the cluster).";
    }

    private static (Exception? Outer, bool Found) Find(Exception? e, Exception? outer)
    {
        for (var depth = 0; e is not null && depth < 16; depth++)
        {
            if (e is AddressInUseException || e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return (outer, true);
            }

            if (e is IOException && e.InnerException is AddressInUseException)
            {
                outer = e;
            }

            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (Find(inner, outer) is { Found: true } hit)
                    {
                        return hit;
                    }
                }

                return (null, false);
            }

            e = e.InnerException;
        }

        return (null, false);
    }
}
