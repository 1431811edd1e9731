using Orleans.Concurrency;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Security;

/// <summary>
/// Layer 2 of tenant isolation: every call into one of our grains must carry an authenticated caller, a
/// tenant-owned grain only answers callers of its own tenant (super-admins and the system excepted), and a
/// tenant user's call is refused unless the tenant's TenantGrain admits it (status, disabled users).
/// </summary>
public sealed class TenantIsolationFilter(IGrainFactory grainFactory, ILogger<TenantIsolationFilter> logger) : IIncomingGrainCallFilter
{
    private static readonly string OurNamespace = typeof(TenantIsolationFilter).Namespace![..typeof(TenantIsolationFilter).Namespace!.IndexOf(".Grains", StringComparison.Ordinal)];

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Grain is not Grain grain || grain.GetType().Namespace?.StartsWith(OurNamespace, StringComparison.Ordinal) != true ||
            // Only calls through our own grain interfaces; the runtime's own invocations (reminders, grain timers) pass.
            context.InterfaceMethod.DeclaringType?.Namespace?.StartsWith(OurNamespace, StringComparison.Ordinal) != true)
        {
            await context.Invoke();
            return;
        }

        var caller = Caller.Current;
        if (caller is null)
        {
            logger.LogWarning("Refused {Method} on {Grain}: no authenticated caller", context.InterfaceMethod.Name, context.TargetId);
            throw new TenantAccessDeniedException(Failure.Forbidden, "No authenticated caller.");
        }

        var key = context.TargetId.Key.ToString();
        if (GrainKeys.TenantOf(key) is { } owner && !caller.IsSuperAdmin)
        {
            if (owner != caller.TenantId)
            {
                logger.LogWarning(
                    "Security: cross-tenant grain call refused: user {UserId} of tenant {CallerTenant} called {Method} on {Grain} of tenant {TargetTenant}",
                    caller.UserId, caller.TenantId, context.InterfaceMethod.Name, context.TargetId, owner);
                throw new TenantAccessDeniedException(Failure.NotFound, "Not found.");
            }

            // The TenantGrain decides admission itself; the audit log must record even refused requests.
            if (context.Grain is not (ITenantGrain or IAuditLogGrain) && Caller.Admitted != owner)
            {
                var write = context.InterfaceMethod.GetCustomAttribute<ReadOnlyAttribute>() is null;
                var admission = await grainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(owner)).CheckAsync(caller.UserId, write);
                if (!admission.Allowed)
                {
                    throw new TenantAccessDeniedException(admission.Failure, admission.Detail ?? "Not admitted.");
                }
            }
        }

        await context.Invoke();
    }
}
