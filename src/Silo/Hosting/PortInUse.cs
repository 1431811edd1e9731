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
    public static string? Describe(Exception e) => Taken(e, 0) is { } what
        ? $"{what}. Another process listens there: stop it, or give this node other ports (--urls for HTTP, " +
            "--Shohayota:Cluster:SiloPort and --Shohayota:Cluster:GatewayPort for the cluster)."
        : null;

    // Outermost first: Kestrel wraps its error in one that names the address ("Failed to bind to address
    // http://127.0.0.1:5000: address already in use."); the silo's and gateway's listeners throw a bare socket error.
    private static string? Taken(Exception? e, int depth) => e switch
    {
        null => null,
        _ when depth > 16 => null,
        IOException { InnerException: AddressInUseException } => e.Message.TrimEnd('.'),
        AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => "this node's silo or gateway port is already in use",
        AggregateException aggregate => aggregate.InnerExceptions.Select(inner => Taken(inner, depth + 1)).FirstOrDefault(what => what is not null),
        _ => Taken(e.InnerException, depth + 1),
    };
}
