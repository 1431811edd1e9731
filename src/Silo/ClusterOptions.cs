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

    /// <summary>
    /// How long the node may take from SIGTERM to exit, whatever the database does (see <see cref="ClusterShutdown"/>).
    /// Container stop timeouts must be longer.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = ClusterShutdown.DefaultTimeout;

    /// <summary>How fast the cluster declares a silo dead (section <c>Shohayota:Cluster:Membership</c>).</summary>
    public MembershipSettings Membership { get; set; } = new();
}

/// <summary>
/// The Orleans membership settings that bound the failover window: a killed silo is declared dead after
/// <see cref="NumMissedProbesLimit"/> failed probes (the last one indirect, through another silo, which adds its vote),
/// so about <c>NumMissedProbesLimit x ProbeTimeout</c> after it died. The defaults give a failover of a few seconds and stay
/// safe on a loaded machine: see README, "Failover and shutdown".
/// </summary>
public sealed class MembershipSettings
{
    public const string SectionName = $"{ShohayotaClusterOptions.SectionName}:{nameof(ShohayotaClusterOptions.Membership)}";

    /// <summary>The initial probe timeout and period; Orleans adapts it per silo between half and four times this value.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive missed probes before a silo votes another one dead.</summary>
    public int NumMissedProbesLimit { get; set; } = 3;

    /// <summary>Fresh votes needed to declare a silo dead (a two-silo cluster needs one).</summary>
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How long a vote stays fresh: votes older than this do not add up to a death.</summary>
    public TimeSpan DeathVoteExpirationTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a silo reads the membership table (gossip usually tells it sooner).</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a silo writes its heartbeat to the membership table (diagnostics and stale-entry detection).</summary>
    public TimeSpan IAmAliveTablePublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The last probe before a vote goes through another silo, whose failure to reach the target counts as a second vote.</summary>
    public bool EnableIndirectProbes { get; set; } = true;
}
