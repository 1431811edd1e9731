using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;

namespace Shohayota.Api.Hosting;

/// <summary>
/// Behind a load balancer the connection comes from the balancer. <c>Shohayota:TrustedProxies</c> names the balancers
/// (addresses or CIDR networks, comma-separated); only from them are <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c>
/// believed, so audit entries, rate-limit diagnostics and the UI record the client's address. Unset (the default),
/// forwarded headers are ignored: anyone could send them.
/// </summary>
public static class TrustedProxies
{
    public const string Key = "Shohayota:TrustedProxies";

    public static WebApplicationBuilder AddShohayotaTrustedProxies(this WebApplicationBuilder builder)
    {
        // Parsed now: a typo stops the start with a message, not the first request.
        var proxies = new List<IPAddress>();
        var networks = new List<IPNetwork>();
        foreach (var entry in (builder.Configuration[Key] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (entry.Contains('/', StringComparison.Ordinal))
            {
                networks.Add(IPNetwork.TryParse(entry, out var network) ? network : throw new InvalidOperationException($"{Key}: '{entry}' is not a CIDR network."));
            }
            else
            {
                proxies.Add(IPAddress.TryParse(entry, out var address) ? address : throw new InvalidOperationException($"{Key}: '{entry}' is not an IP address."));
            }
        }

        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The framework trusts loopback by default; we trust exactly what is configured.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            proxies.ForEach(options.KnownProxies.Add);
            networks.ForEach(options.KnownIPNetworks.Add);
        });
        return builder;
    }

    public static WebApplication UseShohayotaTrustedProxies(this WebApplication app)
    {
        if (!string.IsNullOrWhiteSpace(app.Configuration[Key]))
        {
            app.UseForwardedHeaders();
        }

        return app;
    }
}
