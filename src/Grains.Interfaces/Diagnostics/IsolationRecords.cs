using Orleans.Concurrency;

namespace Shohayota.Grains.Interfaces.Diagnostics;

[GenerateSerializer, Immutable, Alias("TableIsolation")]
public sealed record TableIsolation(
    [property: Id(0)] string Table,
    [property: Id(1)] bool RlsEnabled,
    [property: Id(2)] bool RlsForced,
    [property: Id(3)] int Policies,
    [property: Id(4)] string Owner)
{
    public bool Protected => RlsEnabled && RlsForced && Policies > 0;
}

[GenerateSerializer, Immutable, Alias("ProbeCheck")]
public sealed record ProbeCheck(
    [property: Id(0)] string Layer,
    [property: Id(1)] string Name,
    [property: Id(2)] bool Passed,
    [property: Id(3)] string Detail);

[GenerateSerializer, Immutable, Alias("IsolationReport")]
public sealed record IsolationReport(
    [property: Id(0)] IReadOnlyList<TableIsolation> Tables,
    [property: Id(1)] string RuntimeRole,
    [property: Id(2)] bool RuntimeRoleIsSuperuser,
    [property: Id(3)] bool RuntimeRoleBypassesRls,
    [property: Id(4)] bool RuntimeRoleOwnsTables,
    [property: Id(5)] DateTimeOffset ProbedAt,
    [property: Id(6)] TimeSpan ProbeDuration,
    [property: Id(7)] IReadOnlyList<ProbeCheck> Checks,
    [property: Id(8)] long ForeignRowsSeen,
    [property: Id(9)] bool EverLeaked)
{
    public bool Healthy => !EverLeaked && ForeignRowsSeen == 0 && Checks.All(c => c.Passed) && Tables.All(t => t.Protected) &&
        !RuntimeRoleIsSuperuser && !RuntimeRoleBypassesRls && !RuntimeRoleOwnsTables;
}

/// <summary>
/// The live cross-tenant probe (one activation cluster-wide, key "isolation"): two internal probe tenants try
/// to read each other through the grain and database layers, on a timer and on demand.
/// </summary>
[Alias("IIsolationProbeGrain")]
public interface IIsolationProbeGrain : IGrainWithStringKey
{
    [Alias("Run")]
    Task<IsolationReport> RunAsync();

    /// <summary>The last report, or null before the first probe has run.</summary>
    [Alias("GetLast"), ReadOnly]
    Task<IsolationReport?> GetLastAsync();
}
