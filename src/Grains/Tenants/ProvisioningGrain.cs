using System.Security.Cryptography;
using System.Text;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Tenants;

/// <summary>
/// One per Idempotency-Key. It fixes the tenant id before provisioning, so a retry after a crash between the
/// tenant's commit and this grain's write still lands on the same tenant instead of creating a second one.
/// </summary>
[GrainType("provisioning")]
public sealed class ProvisioningGrain(
    [PersistentState("provisioning", "shohayota")] IPersistentState<ProvisioningState> state) : Grain, IProvisioningGrain
{
    public async Task<Outcome<ProvisionedTenant>> ProvisionAsync(ProvisionTenantRequest request)
    {
        if (Caller.Current is not { IsSuperAdmin: true })
        {
            return Outcome<ProvisionedTenant>.Fail(Failure.Forbidden, "Only super-admins provision tenants.");
        }

        var fingerprint = Fingerprint(request);
        if (state.State.TenantId is { } known)
        {
            if (state.State.Fingerprint != fingerprint)
            {
                return Outcome<ProvisionedTenant>.Fail(Failure.IdempotencyMismatch, "This Idempotency-Key was used with a different request.");
            }

            if (state.State.Result is { } done)
            {
                if (await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(known)).GetAsync() is not null)
                {
                    return Outcome<ProvisionedTenant>.Ok(done);
                }

                // The tenant was hard-deleted since (its purge removed this record too): the key is free again.
                await state.ReadStateAsync();
                if (state.State.TenantId is not null)
                {
                    await state.ClearStateAsync();
                }

                return await ProvisionAsync(request);
            }

            return await ProvisionOnceAsync(known, request);
        }

        state.State.TenantId = Guid.NewGuid();
        state.State.Fingerprint = fingerprint;
        await state.WriteStateAsync();
        return await ProvisionOnceAsync(state.State.TenantId.Value, request);
    }

    private async Task<Outcome<ProvisionedTenant>> ProvisionOnceAsync(Guid tenantId, ProvisionTenantRequest request)
    {
        var tenant = GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
        var outcome = await tenant.ProvisionAsync(request);
        if (outcome.Succeeded)
        {
            state.State.Result = outcome.Value;
            await state.WriteStateAsync();
        }

        return outcome;
    }

    // The password is left out: the fingerprint is stored, and a fast hash of a password must never be.
    private static string Fingerprint(ProvisionTenantRequest request) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Join('\n', request.Name, request.ContactEmail, request.AdminName, request.AdminEmail, request.Plan))));
}

[GenerateSerializer, Alias("ProvisioningState")]
public sealed class ProvisioningState
{
    [Id(0)]
    public Guid? TenantId { get; set; }

    [Id(1)]
    public string? Fingerprint { get; set; }

    [Id(2)]
    public ProvisionedTenant? Result { get; set; }
}
