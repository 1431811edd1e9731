using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// One start-up line an operator can use in place of Orleans' own (kept at Warning): this silo's name and endpoints and
/// how many silos the cluster has active when it joined.
/// </summary>
internal sealed class MembershipLog(
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    IOptions<ClusterOptions> cluster,
    ILoggerFactory loggerFactory) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Shohayota.Cluster");

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(nameof(MembershipLog), ServiceLifecycleStage.Active, _ =>
    {
        var active = membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
        _logger.LogInformation(
            "Silo {SiloName} joined cluster {ClusterId} at {SiloAddress} (gateway {Gateway}); active silos: {ActiveSilos}",
            silo.Name,
            cluster.Value.ClusterId,
            silo.SiloAddress.Endpoint,
            silo.GatewayAddress?.Endpoint.ToString() ?? "none",
            active);
        return Task.CompletedTask;
    });
}
