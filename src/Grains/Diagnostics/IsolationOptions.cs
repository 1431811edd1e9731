using System.ComponentModel.DataAnnotations;

namespace Shohayota.Grains.Diagnostics;

public sealed class IsolationOptions
{
    public const string SectionName = "Shohayota:Isolation";

    /// <summary>How often the live cross-tenant probe runs.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMinutes(5);
}
