using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Shohayota.Silo;
using Shohayota.Silo.Database;

// The standalone silo: the same silo configuration as the Api's co-hosted one, without HTTP.
var builder = Host.CreateApplicationBuilder(args);
using var loggerFactory = LoggerFactory.Create(logging => logging.AddConsole());
var managed = await DatabaseSetup.PrepareAsync(builder.Configuration, loggerFactory);
builder.UseOrleans(silo => silo.AddShohayotaSilo(builder.Configuration));
using var host = builder.Build();
try
{
    await host.RunAsync();
}
finally
{
    if (managed is not null)
    {
        await managed.DisposeAsync();
    }
}
