using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Shohayota.Grains.Hosting;
using Shohayota.Silo;
using Shohayota.Silo.Database;
using Shohayota.Silo.Hosting;

// The standalone silo: the same silo configuration as the Api's co-hosted one, without HTTP. SIGTERM or Ctrl+C
// stops it gracefully: Orleans hands its grains over, marks it dead in the membership table and leaves the cluster.
var builder = Host.CreateApplicationBuilder(args);
Shohayota.Silo.Hosting.LogDefaults.Apply(builder.Configuration);
using var loggerFactory = LoggerFactory.Create(logging => logging.AddConfiguration(builder.Configuration.GetSection("Logging")).AddConsole());
ManagedPostgres? managed = null;
try
{
    StartupChecks.Run(builder.Configuration, builder.Environment, hostsSilo: true);
    managed = await DatabaseSetup.PrepareAsync(builder.Configuration, loggerFactory);

    // Everything below may still refuse the configuration (TLS files, keys, a taken port): the finally stops a managed
    // PostgreSQL started above whatever ends the start.
    var node = NodeIdentity.Apply(builder.Configuration);
    builder.Services.AddShohayotaShutdown(ClusterShutdown.Read(builder.Configuration));
    builder.UseOrleans(silo => silo.AddShohayotaSilo(builder.Configuration));
    using var host = builder.Build();
    var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Shohayota.Silo");
    // Before the silo binds: Orleans' listeners would bind beside another node's on the same port (PortInUse).
    PortInUse.EnsureClusterPortsFree(builder.Configuration);
    await host.StartAsync();
    logger.LogInformation("Silo {Node} joined the cluster", node);
    await host.WaitForShutdownAsync();
    logger.LogInformation("Silo {Node} left the cluster", node);
}
catch (Exception e) when (e is DatabaseSetupException || StartupRefusedException.Find(e) is not null)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {(StartupRefusedException.Find(e) ?? e).Message}");
    return 1;
}
catch (Exception e) when (PortInUse.Describe(e, builder.Configuration) is { } taken)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {taken}");
    return 1;
}
finally
{
    if (managed is not null)
    {
        await managed.DisposeAsync();
    }
}

return 0;
