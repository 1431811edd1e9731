using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Shohayota.Grains.Security;

public static class CallerSigningExtensions
{
    /// <summary>The signer of grain callers (silo and client-mode front end): the cluster's caller keys from configuration.</summary>
    public static IServiceCollection AddShohayotaCallerSigning(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => CallerSigner.Create(sp.GetRequiredService<IConfiguration>()));
        return services;
    }
}
