using System.Net;
using System.Net.Sockets;

namespace Shohayota.Grains.Webhooks;

/// <summary>What an address is, for a webhook's delivery: only <see cref="Public"/> ones are reached (loopback too in development).</summary>
public enum AddressKind
{
    Public,
    Loopback,
    Private,
    LinkLocal,
    Metadata,
    Unspecified,
    Reserved,
}

/// <summary>
/// The SSRF guard of webhooks: a target must be an <c>https</c> URL whose host resolves to public addresses only. Checked
/// when a webhook is registered and again at every connection, on the addresses actually connected to (so a name that
/// resolved to a public address at registration and to an internal one later, DNS rebinding, is refused too). Every
/// spelling of an address is read as the address it is (decimal and octal IPv4 forms are normalised by the URL parser,
/// IPv4-mapped, NAT64 and 6to4 IPv6 forms are judged by the IPv4 address inside). With
/// <c>allowInsecureLocal</c> (development only) <c>http</c> and loopback targets are allowed; metadata and link-local
/// addresses never are.
/// </summary>
public static class WebhookTargets
{
    public const int MaxUrlLength = 2048;

    /// <summary>Cloud metadata endpoints (besides all of 169.254.0.0/16, which is link-local anyway).</summary>
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), IPAddress.Parse("169.254.170.2"), IPAddress.Parse("100.100.100.200"),
        IPAddress.Parse("192.0.0.192"), IPAddress.Parse("fd00:ec2::254"),
    ];

    private static readonly (IPNetwork Network, AddressKind Kind)[] V4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), AddressKind.Unspecified),
        (IPNetwork.Parse("10.0.0.0/8"), AddressKind.Private),
        (IPNetwork.Parse("100.64.0.0/10"), AddressKind.Private),
        (IPNetwork.Parse("127.0.0.0/8"), AddressKind.Loopback),
        (IPNetwork.Parse("169.254.0.0/16"), AddressKind.LinkLocal),
        (IPNetwork.Parse("172.16.0.0/12"), AddressKind.Private),
        (IPNetwork.Parse("192.0.0.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("192.0.2.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("192.88.99.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("192.168.0.0/16"), AddressKind.Private),
        (IPNetwork.Parse("198.18.0.0/15"), AddressKind.Reserved),
        (IPNetwork.Parse("198.51.100.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("203.0.113.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("224.0.0.0/4"), AddressKind.Reserved),
        (IPNetwork.Parse("240.0.0.0/4"), AddressKind.Reserved),
    ];

    private static readonly (IPNetwork Network, AddressKind Kind)[] V6 =
    [
        (IPNetwork.Parse("::/128"), AddressKind.Unspecified),
        (IPNetwork.Parse("::1/128"), AddressKind.Loopback),
        (IPNetwork.Parse("::/96"), AddressKind.Reserved),
        (IPNetwork.Parse("100::/64"), AddressKind.Reserved),
        (IPNetwork.Parse("2001::/32"), AddressKind.Reserved),
        (IPNetwork.Parse("2001:db8::/32"), AddressKind.Reserved),
        (IPNetwork.Parse("fc00::/7"), AddressKind.Private),
        (IPNetwork.Parse("fe80::/10"), AddressKind.LinkLocal),
        (IPNetwork.Parse("fec0::/10"), AddressKind.Private),
        (IPNetwork.Parse("ff00::/8"), AddressKind.Reserved),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    public static AddressKind Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return Classify(address.MapToIPv4());
        }

        if (MetadataAddresses.Contains(address))
        {
            return AddressKind.Metadata;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            if (Nat64.Contains(address))
            {
                return Classify(new IPAddress(bytes.AsSpan(12, 4)));
            }

            if (SixToFour.Contains(address))
            {
                return Classify(new IPAddress(bytes.AsSpan(2, 4)));
            }

            return V6.Where(r => r.Network.Contains(address)).Select(r => (AddressKind?)r.Kind).FirstOrDefault() ?? AddressKind.Public;
        }

        if (address.Equals(IPAddress.Broadcast))
        {
            return AddressKind.Reserved;
        }

        return V4.Where(r => r.Network.Contains(address)).Select(r => (AddressKind?)r.Kind).FirstOrDefault() ?? AddressKind.Public;
    }

    /// <summary>Null when a delivery may connect to <paramref name="address"/>, else why not (for the delivery log and the 400).</summary>
    public static string? Refusal(IPAddress address, bool allowInsecureLocal) => Classify(address) switch
    {
        AddressKind.Public => null,
        AddressKind.Loopback when allowInsecureLocal => null,
        AddressKind.Loopback => $"{address} is a loopback address.",
        AddressKind.Private => $"{address} is a private address.",
        AddressKind.LinkLocal => $"{address} is a link-local address.",
        AddressKind.Metadata => $"{address} is a cloud metadata address.",
        AddressKind.Unspecified => $"{address} is not a host's address.",
        _ => $"{address} is a reserved address.",
    };

    /// <summary>The URL's own rules (before any DNS): absolute, https (http only for local development), no credentials, a host.</summary>
    public static string? UrlRefusal(string? url, bool allowInsecureLocal, out Uri? target)
    {
        target = null;
        if (string.IsNullOrWhiteSpace(url) || url.Length > MaxUrlLength || !Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri))
        {
            return $"url must be an absolute https URL of at most {MaxUrlLength} characters.";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(allowInsecureLocal && uri.Scheme == Uri.UriSchemeHttp))
        {
            return "url must use https.";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "url must not carry a user name or password.";
        }

        if (uri.Host.Length == 0 || !string.IsNullOrEmpty(uri.Fragment))
        {
            return "url must name a host and have no fragment.";
        }

        if (IPAddress.TryParse(uri.DnsSafeHost, out var literal) && Refusal(literal, allowInsecureLocal) is { } refused)
        {
            return $"url must reach a public address: {refused}";
        }

        target = uri;
        return null;
    }

    /// <summary>
    /// The addresses a delivery may connect to for <paramref name="host"/>: every address it resolves to must be allowed
    /// (one internal address among public ones refuses the target: the resolver could hand out either).
    /// </summary>
    public static async Task<(IPAddress[] Addresses, string? Refusal)> ResolveAsync(
        string host, bool allowInsecureLocal, Func<string, CancellationToken, Task<IPAddress[]>> resolve, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await resolve(host, cancellationToken);
            }
            catch (SocketException)
            {
                return ([], $"{host} does not resolve.");
            }
        }

        if (addresses.Length == 0)
        {
            return ([], $"{host} does not resolve.");
        }

        foreach (var address in addresses)
        {
            if (Refusal(address, allowInsecureLocal) is { } refused)
            {
                return ([], $"{host} resolves to {refused}");
            }
        }

        return (addresses, null);
    }

    /// <summary>
    /// A handler whose every connection is made by <see cref="ResolveAsync"/>'s rules, to an address it checked itself: the
    /// check and the connection cannot disagree. Redirects are not followed (a redirect could point anywhere).
    /// </summary>
    public static SocketsHttpHandler GuardedHandler(bool allowInsecureLocal, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        resolve ??= static (host, token) => Dns.GetHostAddressesAsync(host, token);
        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var (addresses, refusal) = await ResolveAsync(context.DnsEndPoint.Host, allowInsecureLocal, resolve, cancellationToken);
                if (refusal is not null)
                {
                    throw new WebhookTargetRefusedException(refusal);
                }

                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
    }
}

/// <summary>A delivery refused by the SSRF guard at connection time (the target resolved to an address it may not reach).</summary>
public sealed class WebhookTargetRefusedException(string message) : HttpRequestException(message);
