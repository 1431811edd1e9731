using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Api.Tenants;

/// <summary>What a super-admin route about one tenant (<c>/api/admin/tenants/{id}/…</c>) checks first.</summary>
public static class TenantRoutes
{
    /// <summary>Whether <paramref name="id"/> is a tenant (the reserved system tenant is not one).</summary>
    public static async Task<bool> ExistsAsync(IGrainFactory grains, Guid id) =>
        id != GrainKeys.SystemTenant && await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id)).GetAsync() is not null;

    public static ProblemHttpResult NoSuchTenant() => Problems.From(Failure.NotFound, "No such tenant.");
}
