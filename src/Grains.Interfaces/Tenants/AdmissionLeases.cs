namespace Shohayota.Grains.Interfaces.Tenants;

/// <summary>
/// A front end's lease request to a tenant's TenantGrain (<see cref="ITenantGrain.LeaseAsync"/>): what it did with its
/// previous lease (calls admitted, tokens it gives back, users it saw) and how many admissions it wants next.
/// <paramref name="Want"/> 0 ends the node's lease. <paramref name="KnownVersion"/> is the version of the rules it holds;
/// the grain sends the rules only when they changed.
/// </summary>
[GenerateSerializer, Immutable, Alias("AdmissionLeaseRequest")]
public sealed record AdmissionLeaseRequest(
    [property: Id(0)] Guid NodeId,
    [property: Id(1)] IAdmissionObserver? Observer,
    [property: Id(2)] long KnownVersion,
    [property: Id(3)] int Want,
    [property: Id(4)] int Used,
    [property: Id(5)] int Unused,
    [property: Id(6)] IReadOnlyList<Guid> Seen,
    [property: Id(7)] TimeSpan Duration);

/// <summary>
/// The grain's answer: <paramref name="Granted"/> admissions (rate-limit tokens and monthly API calls, both already taken
/// from the tenant's bucket and counter), the rules when they changed, and the refusal that explains a grant of 0.
/// <paramref name="HeldElsewhere"/>: the monthly quota is used up only by calls other nodes hold on lease; they were told
/// to give them back, so the node asks again shortly instead of refusing (the quota is exact: nothing is refused while
/// an admission is left anywhere).
/// </summary>
[GenerateSerializer, Immutable, Alias("AdmissionLease")]
public sealed record AdmissionLease(
    [property: Id(0)] long Version,
    [property: Id(1)] AdmissionRules? Rules,
    [property: Id(2)] int Granted,
    [property: Id(3)] Admission? Refusal,
    [property: Id(4)] bool HeldElsewhere = false);

/// <summary>What a node decides locally: refusals by the tenant's status (reads and writes), disabled users, unmetered (system tenant).</summary>
[GenerateSerializer, Immutable, Alias("AdmissionRules")]
public sealed record AdmissionRules(
    [property: Id(0)] Admission? ReadRefusal,
    [property: Id(1)] Admission? WriteRefusal,
    [property: Id(2)] IReadOnlyList<Guid> DisabledUsers,
    [property: Id(3)] bool Unmetered);

/// <summary>A front end that holds admission leases; a TenantGrain tells it to drop the tenant's lease when its rules change.</summary>
[Alias("IAdmissionObserver")]
public interface IAdmissionObserver : IGrainObserver
{
    /// <summary>
    /// Drops the tenant's lease: the next request of the tenant renews it from the grain. Answers once dropped (the
    /// grain waits for that, bounded); it must not call the grain back before answering.
    /// </summary>
    [Alias("Revoke")]
    Task RevokeAsync(Guid tenantId);
}
