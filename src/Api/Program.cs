using Shohayota.Api.Hosting;
using Shohayota.Silo.Database;
using Shohayota.Silo.Hosting;

try
{
    var app = await ShohayotaApp.BuildAsync(args);
    await app.RunAsync();
}
catch (Exception e) when (e is DatabaseSetupException || StartupRefusedException.Find(e) is not null)
{
    await Console.Error.WriteLineAsync($"Shohayota cannot start: {(StartupRefusedException.Find(e) ?? e).Message}");
    return 1;
}

return 0;
