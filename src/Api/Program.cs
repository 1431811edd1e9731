using Shohayota.Api.Hosting;

var app = await ShohayotaApp.BuildAsync(args);
await app.RunAsync();
