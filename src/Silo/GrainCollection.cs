using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Shohayota.Silo;

/// <summary>
/// How long an idle grain stays in memory (section <c>Shohayota:Grains</c>): a tenant's grains (its TenantGrain with its
/// quota book and write-behind timer, its customers, its query workers) stay activated until none of them was called for
/// <see cref="CollectionAge"/>, then the silo deactivates them and their memory is returned.
/// </summary>
public sealed class GrainCollectionSettings
{
    public const string SectionName = "Shohayota:Grains";

    /// <summary>Idle time after which an activation is deactivated (Orleans' default, 15 minutes).</summary>
    [Range(typeof(TimeSpan), "00:00:02", "1.00:00:00")]
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often the silo looks for idle activations; an idle one goes between age and age + quantum. Less than the age.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CollectionQuantum { get; set; } = TimeSpan.FromMinutes(1);
}

public static class GrainCollectionExtensions
{
    public static IServiceCollection AddShohayotaGrainCollection(this IServiceCollection services)
    {
        services.AddOptions<GrainCollectionSettings>()
            .BindConfiguration(GrainCollectionSettings.SectionName)
            .ValidateDataAnnotations()
            .Validate(s => s.CollectionQuantum < s.CollectionAge, $"{GrainCollectionSettings.SectionName}:CollectionQuantum must be less than CollectionAge.")
            .ValidateOnStart();
        services.AddOptions<GrainCollectionOptions>().Configure<IOptions<GrainCollectionSettings>>((orleans, settings) =>
        {
            orleans.CollectionAge = settings.Value.CollectionAge;
            orleans.CollectionQuantum = settings.Value.CollectionQuantum;
        });
        return services;
    }
}
