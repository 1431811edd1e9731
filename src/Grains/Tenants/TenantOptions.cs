using System.ComponentModel.DataAnnotations;

namespace Shohayota.Grains.Tenants;

public sealed class TenantOptions
{
    public const string SectionName = "Shohayota:Tenants";

    /// <summary>Days a canceled or soft-deleted tenant is kept before it may be purged.</summary>
    [Range(0, 3650)]
    public int RetentionDays { get; set; } = 30;
}
