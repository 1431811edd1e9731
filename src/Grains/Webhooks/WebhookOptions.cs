using System.ComponentModel.DataAnnotations;

namespace Shohayota.Grains.Webhooks;

/// <summary>Webhook delivery (<c>Shohayota:Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Shohayota:Webhooks";

    /// <summary>Whether this node sends deliveries (every node does by default; the queue is shared).</summary>
    public bool Deliver { get; set; } = true;

    /// <summary>
    /// Development only: allows <c>http</c> and loopback targets (a receiver on this machine). Private, link-local and
    /// cloud-metadata addresses stay refused even then. Logged as a warning at start.
    /// </summary>
    public bool AllowInsecureLocalTargets { get; set; }

    /// <summary>How often each node looks for due deliveries when it found none the last time.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a node holds a delivery it claimed; a node that dies mid-delivery loses it after this. Longer than
    /// <see cref="Timeout"/> and <see cref="PollInterval"/> together (checked at start).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one delivery may take (connection, request and the answer's first 64 KB).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first retry's delay; each further one doubles it (± 20 % jitter).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest delay between two attempts.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long after its first attempt a delivery is retried; then it fails and its webhook is disabled.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Deliveries a node sends at once.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 16;

    /// <summary>How long finished deliveries stay in the delivery log.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "365.00:00:00")]
    public TimeSpan LogRetention { get; set; } = TimeSpan.FromDays(30);
}
