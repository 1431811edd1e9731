using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;
using Shohayota.Grains.Interfaces.Support;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Interfaces.Webhooks;

namespace Shohayota.Grains.Backups;

/// <summary>
/// Drops the live activations that cache a tenant's rows (its TenantGrain, audit writer, users, customers, contacts, deals,
/// activities, pipeline and custom-field definitions), so the next call re-reads the rows a restore or purge just replaced. Only grains that are
/// actually active are called: asking every customer id would activate (and load) each of them first. The activity query
/// grain is stateless and keeps nothing.
/// </summary>
internal static class LiveGrains
{
    private const int Parallelism = 64;

    public static async Task ForgetAsync(IGrainFactory grains, Guid tenantId)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var prefix = tenantId.ToString("D") + "/";
        await ForgetEachAsync<IActivityGrain>(grains, management, "activity", prefix, activity => activity.ForgetAsync());
        await ForgetEachAsync<IDealGrain>(grains, management, "deal", prefix, deal => deal.ForgetAsync());
        await ForgetEachAsync<IPipelineGrain>(grains, management, "pipeline", prefix, pipeline => pipeline.ForgetAsync());
        await ForgetEachAsync<IContactGrain>(grains, management, "contact", prefix, contact => contact.ForgetAsync());
        await ForgetEachAsync<ICustomerGrain>(grains, management, "customer", prefix, customer => customer.ForgetAsync());
        await ForgetEachAsync<IUserGrain>(grains, management, "user", prefix, user => user.ForgetAsync());

        if ((await ActiveKeysAsync(management, "custom-fields", GrainKeys.CustomFields(tenantId))).Count > 0)
        {
            await grains.GetGrain<ICustomFieldsGrain>(GrainKeys.CustomFields(tenantId)).ForgetAsync();
        }

        if ((await ActiveKeysAsync(management, "audit-log", GrainKeys.AuditLog(tenantId))).Count > 0)
        {
            await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenantId)).ForgetAsync();
        }

        await ForgetAccessAsync(grains, tenantId);
        if ((await ActiveKeysAsync(management, "tenant", GrainKeys.Tenant(tenantId))).Count > 0)
        {
            await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).ReloadAsync();
        }
    }

    /// <summary>Drops the tenant's API-key, support-session and webhook activations, if active (their rows were just removed or replaced).</summary>
    public static async Task ForgetAccessAsync(IGrainFactory grains, Guid tenantId)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        if ((await ActiveKeysAsync(management, "api-keys", GrainKeys.ApiKeys(tenantId))).Count > 0)
        {
            await grains.GetGrain<IApiKeysGrain>(GrainKeys.ApiKeys(tenantId)).ForgetAsync();
        }

        if ((await ActiveKeysAsync(management, "support-sessions", GrainKeys.SupportSessions(tenantId))).Count > 0)
        {
            await grains.GetGrain<ISupportSessionsGrain>(GrainKeys.SupportSessions(tenantId)).ForgetAsync();
        }

        if ((await ActiveKeysAsync(management, "webhooks", GrainKeys.Webhooks(tenantId))).Count > 0)
        {
            await grains.GetGrain<IWebhooksGrain>(GrainKeys.Webhooks(tenantId)).ForgetAsync();
        }
    }

    /// <summary>Drops every active grain of one type whose key starts with the tenant's prefix, a bounded number at a time.</summary>
    private static async Task ForgetEachAsync<TGrain>(IGrainFactory grains, IManagementGrain management, string grainType, string prefix, Func<TGrain, Task> forget)
        where TGrain : IGrainWithStringKey
    {
        foreach (var chunk in (await ActiveKeysAsync(management, grainType, prefix)).Chunk(Parallelism))
        {
            await Task.WhenAll(chunk.Select(key => forget(grains.GetGrain<TGrain>(key))));
        }
    }

    private static async Task<List<string>> ActiveKeysAsync(IManagementGrain management, string grainType, string prefix) =>
        (await management.GetActiveGrains(GrainType.Create(grainType)))
            .Select(id => id.Key.ToString()!)
            .Where(key => key.StartsWith(prefix, StringComparison.Ordinal))
            .ToList();
}
