namespace Shohayota.Grains.Interfaces.Audit;

/// <summary>The cluster's daily audit pruning and anchoring of chain heads (key "audit-retention"), driven by a durable reminder.</summary>
[Alias("IAuditRetentionGrain")]
public interface IAuditRetentionGrain : IGrainWithStringKey
{
    /// <summary>Registers the daily reminder (idempotent).</summary>
    [Alias("Start")]
    Task StartAsync();

    /// <summary>Prunes every tenant's log and anchors every chain's head now; returns the entries removed.</summary>
    [Alias("Run")]
    Task<long> RunAsync();
}
