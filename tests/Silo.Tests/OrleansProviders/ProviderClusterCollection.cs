namespace Shohayota.Silo.Tests.OrleansProviders;

// Two-silo clusters are CPU-hungry: running them one at a time keeps membership probes from timing out on small machines.
[CollectionDefinition(Name)]
public sealed class ProviderClusterCollection
{
    public const string Name = "Orleans provider clusters";
}
