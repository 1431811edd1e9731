using System.Net;
using System.Net.Sockets;

namespace Shohayota.Grains.Users;

/// <summary>
/// The key sign-in limits count a client under: an IPv4 address as is, an IPv6 address by its /64 (one subscriber
/// usually holds a whole /64, so per-address limits would otherwise be per random suffix).
/// </summary>
public static class SignInAddress
{
    public const string Unknown = "unknown";

    public static string Normalize(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>The key of an address as text, or of a key made before (<c>prefix::/64</c>) as it came.</summary>
    public static string Normalize(string? address)
    {
        if (IPAddress.TryParse(address, out var parsed))
        {
            return Normalize(parsed);
        }

        return address is not null && address.EndsWith("/64", StringComparison.Ordinal) && IPAddress.TryParse(address[..^3], out var prefix) &&
            prefix.AddressFamily == AddressFamily.InterNetworkV6
            ? Normalize(prefix) : Unknown;
    }
}
