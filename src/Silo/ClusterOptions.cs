using System.ComponentModel.DataAnnotations;

namespace Shohayota.Silo;

/// <summary>How this node joins the cluster (section <c>Shohayota:Cluster</c>).</summary>
public sealed class ShohayotaClusterOptions
{
    public const string SectionName = "Shohayota:Cluster";

    [Required]
    public string ClusterId { get; set; } = "shohayota";

    [Required]
    public string ServiceId { get; set; } = "shohayota";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one on.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public string? SiloName { get; set; }

    /// <summary>Plain TCP off the loopback, with a warning at start (see <see cref="TransportSecurity"/>); otherwise such a node needs mutual TLS.</summary>
    public bool AllowInsecureTransport { get; set; }
}
