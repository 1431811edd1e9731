using Shohayota.Api.Hosting;
using Shohayota.Grains.Hosting;
using Shohayota.Silo.Database;
using Shohayota.Silo.Hosting;

ManagedPostgres? managed = null;
IConfiguration? configuration = null;
try
{
    // A failure inside BuildAsync stops a managed PostgreSQL it had started (ShohayotaApp.BuildAsync).
    await using var app = await ShohayotaApp.BuildAsync(args);
    managed = app.Services.GetService<ManagedPostgres>();
    configuration = app.Configuration;
    if (HostingExtensions.HostsSilo(configuration))
    {
        // Before the silo binds: Orleans' listeners would bind beside another node's on the same port (PortInUse).
        PortInUse.EnsureClusterPortsFree(configuration);
    }

    try
    {
        await app.StartAsync();
    }
    catch
    {
        // Kestrel binds last, after the silo has joined the cluster: a start that fails there (a port taken, say) stops
        // what did start, as a clean shutdown does (the silo leaves the cluster, the managed PostgreSQL stops), instead
        // of leaving it to the host's disposal.
        try
        {
            await app.StopAsync();
        }
        catch (Exception stopping)
        {
            // To the log, not standard error: that keeps the one line saying why the start failed. (A silo whose own
            // port was taken never ran, and Orleans refuses to stop it.)
            app.Logger.LogWarning(stopping, "Could not stop everything after the failed start");
        }

        throw;
    }

    await app.WaitForShutdownAsync();
}
catch (Exception e) when (e is DatabaseSetupException || StartupRefusedException.Find(e) is not null)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {(StartupRefusedException.Find(e) ?? e).Message}");
    return 1;
}
catch (Exception e) when (PortInUse.Describe(e, configuration) is { } taken)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {taken}");
    return 1;
}
finally
{
    // After a start that failed once the managed PostgreSQL was up, should stopping the host not have stopped it. A no-op
    // when it is stopped already.
    if (managed is not null)
    {
        await managed.StopAsync();
    }
}

return 0;
