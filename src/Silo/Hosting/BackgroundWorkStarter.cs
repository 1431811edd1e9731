using Microsoft.Extensions.Hosting;
using Shohayota.Grains.Security;
using Shohayota.Grains.Interfaces.Diagnostics;

namespace Shohayota.Silo.Hosting;

/// <summary>Starts the cluster's background work: the isolation probe's timer and the daily audit-retention reminder.</summary>
internal sealed class BackgroundWorkStarter(IGrainFactory grains, CallerSigner signer) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        signer.EnterSystem();
        await grains.GetGrain<IIsolationProbeGrain>("isolation").GetLastAsync();
        await grains.GetGrain<Grains.Interfaces.Audit.IAuditRetentionGrain>("audit-retention").StartAsync();
        RequestContext.Clear();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
