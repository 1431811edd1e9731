using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

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

    /// <summary>Called by a UserGrain so admission refuses a disabled user's still-valid tokens.</summary>
    [Alias("UserStatusChanged")]
    Task UserStatusChangedAsync(Guid userId, bool disabled);
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
