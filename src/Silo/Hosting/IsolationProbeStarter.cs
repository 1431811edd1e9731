using Microsoft.Extensions.Hosting;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Diagnostics;

namespace Shohayota.Silo.Hosting;

/// <summary>Activates the cluster's isolation probe at start-up; its timer keeps it running from then on.</summary>
internal sealed class IsolationProbeStarter(IGrainFactory grains) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Caller.System.Enter();
        await grains.GetGrain<IIsolationProbeGrain>("isolation").GetLastAsync();
        RequestContext.Clear();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
