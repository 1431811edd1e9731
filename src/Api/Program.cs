using Shohayota.Api.Hosting;
using Shohayota.Silo.Database;

try
{
    var app = await ShohayotaApp.BuildAsync(args);
    await app.RunAsync();
}
catch (DatabaseSetupException e)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {e.Message}");
    return 1;
}

return 0;
