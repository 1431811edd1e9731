using System.ComponentModel.DataAnnotations;

namespace Shohayota.Grains.Audit;

public sealed class AuditOptions
{
    public const string SectionName = "Shohayota:Audit";

    /// <summary>Entries older than this are pruned daily (a checkpoint keeps the rest verifiable).</summary>
    [Range(2, 36500)]
    public int RetentionDays { get; set; } = 400;
}
