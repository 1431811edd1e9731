using Shohayota.Api.Hosting;
using Shohayota.Silo.Database;
using Shohayota.Silo.Hosting;

ManagedPostgres? managed = null;
try
{
    var app = await ShohayotaApp.BuildAsync(args);
    managed = app.Services.GetService<ManagedPostgres>();
    await app.RunAsync();
}
catch (Exception e) when (e is DatabaseSetupException || StartupRefusedException.Find(e) is not null)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {(StartupRefusedException.Find(e) ?? e).Message}");
    return 1;
}
catch (Exception e) when (PortInUse.Describe(e) is { } taken)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {taken}");
    return 1;
}
finally
{
    // A start that failed after the managed PostgreSQL started (a port taken, say) stops it too: the host stops its
    // hosted services, the one that stops PostgreSQL among them, only after a start that succeeded. A no-op otherwise.
    if (managed is not null)
    {
        await managed.StopAsync();
    }
}

return 0;
