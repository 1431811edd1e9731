using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Shohayota.Silo;
using Shohayota.Silo.Database;
using Shohayota.Silo.Hosting;

// The standalone silo: the same silo configuration as the Api's co-hosted one, without HTTP. SIGTERM or Ctrl+C
// stops it gracefully: Orleans hands its grains over, marks it dead in the membership table and leaves the cluster.
var builder = Host.CreateApplicationBuilder(args);
Shohayota.Silo.Hosting.LogDefaults.Apply(builder.Configuration);
using var loggerFactory = LoggerFactory.Create(logging => logging.AddConfiguration(builder.Configuration.GetSection("Logging")).AddConsole());
ManagedPostgres? managed;
try
{
    StartupChecks.Run(builder.Configuration, builder.Environment, hostsSilo: true);
    managed = await DatabaseSetup.PrepareAsync(builder.Configuration, loggerFactory);
}
catch (Exception e) when (e is DatabaseSetupException or StartupRefusedException)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {e.Message}");
    return 1;
}

var node = NodeIdentity.Apply(builder.Configuration);
builder.Services.AddShohayotaShutdown(ClusterShutdown.Read(builder.Configuration));
builder.UseOrleans(silo => silo.AddShohayotaSilo(builder.Configuration));
using var host = builder.Build();
var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Shohayota.Silo");
try
{
    await host.StartAsync();
    logger.LogInformation("Silo {Node} joined the cluster", node);
    await host.WaitForShutdownAsync();
    logger.LogInformation("Silo {Node} left the cluster", node);
}
catch (Exception e) when (PortInUse.Describe(e) is { } taken)
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
