using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Grains.Interfaces.Tenants;

/// <summary>
/// One per tenant (<see cref="GrainKeys.Tenant"/>): the lifecycle state machine and the one place that admits or
/// refuses the tenant's work. Its storage is the tenant's row in the relational <c>tenants</c> table.
/// </summary>
[Alias("ITenantGrain")]
public interface ITenantGrain : ITenantGrainKey
{
    [Alias("Get"), ReadOnly]
    Task<TenantDetails?> GetAsync();

    /// <summary>Hot path: is this user of the tenant allowed to read (or write) right now?</summary>
    [Alias("Admit"), ReadOnly]
    Task<Admission> AdmitAsync(Guid userId, bool write);

    /// <summary>
    /// A front end's admission lease (system caller only): the rules it admits by and a block of rate-limit tokens and
    /// monthly API calls taken from this grain; it reports the previous lease's use. See <see cref="AdmissionLeaseRequest"/>.
    /// </summary>
    [Alias("Lease")]
    Task<AdmissionLease> LeaseAsync(AdmissionLeaseRequest request);

    /// <summary>Status and disabled-user check only, without metering or rate limiting (sign-in, grain-call filter).</summary>
    [Alias("Check"), ReadOnly]
    Task<Admission> CheckAsync(Guid userId, bool write);

    [Alias("Provision")]
    Task<Outcome<ProvisionedTenant>> ProvisionAsync(ProvisionTenantRequest request);

    [Alias("Suspend")]
    Task<Outcome<TenantDetails>> SuspendAsync(string? reason);

    [Alias("Reactivate")]
    Task<Outcome<TenantDetails>> ReactivateAsync();

    [Alias("Cancel")]
    Task<Outcome<TenantDetails>> CancelAsync();

    /// <summary>Soft delete (blocked, data kept) or hard delete (purge every row and grain state).</summary>
    [Alias("Delete")]
    Task<Outcome<TenantDetails>> DeleteAsync(bool hardDelete, bool force);

    /// <summary>Holds room for a write's growth (customers, users, bytes) until it is settled; refused when a quota is full. System caller only.</summary>
    [Alias("Reserve")]
    Task<Reservation> ReserveAsync(QuotaDelta delta);

    /// <summary>Turns a reservation into usage (committed) or gives the room back. System caller only.</summary>
    [Alias("Settle")]
    Task SettleAsync(Guid reservationId, bool committed);

    /// <summary>Applies committed shrinkage (deletes, smaller updates). System caller only.</summary>
    [Alias("Adjust")]
    Task AdjustAsync(QuotaDelta delta);

    /// <summary>
    /// The audit log's one call per batch: settles the previous batch (<paramref name="settled"/>), then reserves room for
    /// each change of the next one that grows, in order; a refused change gets a refusal (nothing is held for it).
    /// </summary>
    // Always interleaved: the tenant's own changes wait on its audit log, which calls this; it does no I/O and never yields.
    [Alias("SettleAndReserve"), AlwaysInterleave]
    Task<IReadOnlyList<Reservation>> SettleAndReserveAsync(QuotaSettlement settled, IReadOnlyList<QuotaDelta> growth);

    [Alias("GetQuotas"), ReadOnly]
    Task<QuotaReport?> GetQuotasAsync();

    [Alias("SetPlan")]
    Task<Outcome<QuotaReport>> SetPlanAsync(string plan);

    [Alias("SetOverrides")]
    Task<Outcome<QuotaReport>> SetOverridesAsync(OverrideChange change);

    /// <summary>The runbook's manual reset of the monthly API-call counter.</summary>
    [Alias("ResetApiCalls")]
    Task<Outcome<QuotaReport>> ResetApiCallsAsync();

    /// <summary>A front end's report of the tenant's requests (status classes and latency) since its last one. System caller only.</summary>
    [Alias("ReportTraffic")]
    Task ReportTrafficAsync(TrafficSample sample);

    [Alias("GetUsage"), ReadOnly]
    Task<UsageReport?> GetUsageAsync();

    [Alias("GetAlerts"), ReadOnly]
    Task<IReadOnlyList<Alert>> GetAlertsAsync();

    /// <summary>
    /// Opens (a message) or clears (null) an alert decided outside the meter, under <paramref name="metric"/> (e.g. a
    /// webhook disabled after its retry period); it stays open until cleared. System caller only.
    /// </summary>
    [Alias("SetAlert")]
    Task SetAlertAsync(string metric, string? message);

    /// <summary>Writes the counters now (tests, shutdown); normally a timer does. System caller only.</summary>
    [Alias("Flush")]
    Task FlushAsync();

    /// <summary>Called by a UserGrain (as the system caller, the only one accepted) so admission refuses a disabled user's still-valid tokens.</summary>
    [Alias("UserStatusChanged")]
    Task UserStatusChangedAsync(Guid userId, bool disabled);

    /// <summary>Super-admins only: drops the activation after a restore replaced the tenant's rows; the next call re-derives everything from them.</summary>
    [Alias("Reload")]
    Task ReloadAsync();
}

/// <summary>Cross-tenant reads for super-admins (the tenants registry); stateless.</summary>
[Alias("ITenantDirectoryGrain")]
public interface ITenantDirectoryGrain : IGrainWithStringKey
{
    [Alias("List"), ReadOnly]
    Task<TenantPage> ListAsync(TenantQuery query);
}

/// <summary>Remembers the first result of a provisioning request per Idempotency-Key.</summary>
[Alias("IProvisioningGrain")]
public interface IProvisioningGrain : IGrainWithStringKey
{
    [Alias("Provision")]
    Task<Outcome<ProvisionedTenant>> ProvisionAsync(ProvisionTenantRequest request);
}
