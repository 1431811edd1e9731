namespace Shohayota.Silo;

/// <summary>How long a node may take to leave the cluster gracefully after SIGTERM.</summary>
public static class ClusterShutdown
{
    /// <summary>
    /// Draining HTTP requests, deactivating grains (the TenantGrains flush their counters) and leaving the membership
    /// table take a few seconds; the host's default of 30 s is kept as the floor. Container stop timeouts must be longer.
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);
}
