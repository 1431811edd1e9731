namespace Shohayota.Api.Hosting;

public static class HeavyRoutesExtensions
{
    /// <summary>The per-tenant and per-node bounds on exports and audit verifications (<see cref="HeavyRouteLimiter"/>).</summary>
    public static WebApplicationBuilder AddShohayotaHeavyRoutes(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HeavyRouteOptions>().BindConfiguration(HeavyRouteOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<HeavyRouteLimiter>();
        return builder;
    }
}
