using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// The standalone silo has no appsettings.json: the same quiet defaults as the Api's, as the lowest-precedence
/// configuration source, so <c>Logging__LogLevel__Polly=Information</c> and the like still turn a category up.
/// </summary>
public static class LogDefaults
{
    public static void Apply(IConfigurationManager configuration) =>
        configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Orleans"] = "Warning",
                ["Logging:LogLevel:Orleans.Runtime.Watchdog"] = "Error",
                ["Logging:LogLevel:Polly"] = "Warning",
                ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
            },
        });
}
