using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Messaging;
using Shohayota.Grains.Hosting;
using Shohayota.Silo.Hosting;

namespace Shohayota.Silo;

/// <summary>
/// Cluster traffic carries every tenant's data and the signed callers, so off the loopback it is mutual TLS
/// (<see cref="ClusterTls"/>) or, only when an operator says so with <see cref="AllowInsecureKey"/>, plain TCP with a
/// warning at every start.
/// </summary>
public static class TransportSecurity
{
    public const string AllowInsecureKey = $"{ShohayotaClusterOptions.SectionName}:{nameof(ShohayotaClusterOptions.AllowInsecureTransport)}";
    public const string CertificateKey = $"{ClusterTlsOptions.SectionName}:{nameof(ClusterTlsOptions.CertificatePath)}";

    private const string Remedy =
        $"Configure mutual TLS: {CertificateKey} (a PKCS#12 file, or a PEM certificate with {ClusterTlsOptions.SectionName}:{nameof(ClusterTlsOptions.KeyPath)}) " +
        $"and {ClusterTlsOptions.SectionName}:{nameof(ClusterTlsOptions.AuthorityPath)} (the cluster's CA; scripts/dev-certs.sh makes a development one). " +
        $"Only on a network that is private by other means, set {AllowInsecureKey}=true instead.";

    public static bool HasTls(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[CertificateKey]);

    public static bool AllowsInsecure(IConfiguration configuration) =>
        bool.TryParse(configuration[AllowInsecureKey], out var allowed) && allowed;

    /// <summary>Refuses a silo whose silo and gateway endpoints (the advertised address it also listens on) are off the loopback without TLS.</summary>
    public static void CheckSilo(IConfiguration configuration)
    {
        if (HasTls(configuration) || AllowsInsecure(configuration))
        {
            return;
        }

        var key = $"{ShohayotaClusterOptions.SectionName}:{nameof(ShohayotaClusterOptions.AdvertisedAddress)}";
        var configured = configuration[key] ?? new ShohayotaClusterOptions().AdvertisedAddress;
        if (!IPAddress.TryParse(configured, out var address))
        {
            throw new StartupRefusedException($"{key} '{configured}' is not an IP address.");
        }

        if (!IPAddress.IsLoopback(address))
        {
            throw new StartupRefusedException(
                $"This node's silo and gateway ports would listen on {address} ({key}), off the loopback, as plain TCP. {Remedy}");
        }
    }

    /// <summary>The start-up warning of a node that runs without TLS because <see cref="AllowInsecureKey"/> says so.</summary>
    public static IServiceCollection AddInsecureTransportWarning(this IServiceCollection services, IConfiguration configuration, string what)
    {
        if (AllowsInsecure(configuration) && !HasTls(configuration))
        {
            services.AddHostedService(provider => new InsecureTransportWarning(provider.GetRequiredService<ILoggerFactory>(), what));
        }

        return services;
    }

    /// <summary>
    /// A cluster client without TLS talks to loopback gateways only: it finds the gateways in the membership table, so the
    /// check runs on every gateway list it reads, and the first one (at start) refuses the start.
    /// </summary>
    public static IClientBuilder RequireLoopbackGatewaysWithoutTls(this IClientBuilder client, IConfiguration configuration)
    {
        client.Services.AddInsecureTransportWarning(configuration, "connections to the gateways");
        if (HasTls(configuration) || AllowsInsecure(configuration))
        {
            return client;
        }

        var services = client.Services;
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(IGatewayListProvider) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("Configure the cluster client's gateway list (clustering) before its transport check.");
        services.Remove(registered);
        services.AddSingleton<IGatewayListProvider>(provider => new LoopbackGateways(registered switch
        {
            { ImplementationInstance: IGatewayListProvider instance } => instance,
            { ImplementationFactory: { } factory } => (IGatewayListProvider)factory(provider),
            _ => (IGatewayListProvider)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!),
        }));
        return client;
    }

    private static bool IsLoopback(Uri gateway) =>
        IPAddress.TryParse(gateway.Host.Trim('[', ']'), out var address) ? IPAddress.IsLoopback(address) : gateway.IsLoopback;

    private sealed class LoopbackGateways(IGatewayListProvider inner) : IGatewayListProvider
    {
        public TimeSpan MaxStaleness => inner.MaxStaleness;

        public bool IsUpdatable => true;

        public Task InitializeGatewayListProvider() => inner.InitializeGatewayListProvider();

        public async Task<IList<Uri>> GetGateways()
        {
            var gateways = await inner.GetGateways();
            var remote = gateways.Where(g => !IsLoopback(g)).Select(g => $"{g.Host}:{g.Port}").ToList();
            if (remote.Count > 0)
            {
                throw new StartupRefusedException(
                    $"This cluster client would reach gateways off the loopback ({string.Join(", ", remote)}) over plain TCP. {Remedy}");
            }

            return gateways;
        }
    }

    private sealed class InsecureTransportWarning(ILoggerFactory loggers, string what) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            loggers.CreateLogger(typeof(TransportSecurity).FullName!).LogWarning(
                "INSECURE TRANSPORT {Setting}=true and no {Certificate}: this node's {What} are plain TCP. Anyone on that network can read " +
                "every tenant's data in transit and call grains; configure mutual TLS",
                AllowInsecureKey, CertificateKey, what);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
