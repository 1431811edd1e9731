using Orleans.Concurrency;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Shohayota.Grains.Diagnostics;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Grains.Security;

/// <summary>
/// Layer 2 of tenant isolation: every call into one of our grains must carry a caller signed by a node of this cluster
/// (unexpired), a tenant-owned grain only answers callers of its own tenant (super-admins and the system excepted), and a
/// tenant user's call is refused unless the tenant's TenantGrain admits it (status, disabled users).
/// </summary>
public sealed class TenantIsolationFilter(
    IGrainFactory grainFactory,
    CallerSigner signer,
    ForgedCallerAudit forged,
    ILogger<TenantIsolationFilter> logger) : IIncomingGrainCallFilter
{
    public static readonly EventId CrossTenantRefusedEvent = new(4302, "CrossTenantCallRefused");
    public static readonly EventId IsolationProbeRefusedEvent = new(4303, "IsolationProbeRefused");

    private static readonly string OurNamespace = typeof(TenantIsolationFilter).Namespace![..typeof(TenantIsolationFilter).Namespace!.IndexOf(".Grains", StringComparison.Ordinal)];

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Grain is not Grain grain)
        {
            // System targets: the runtime's own protocol (a client's gateway connection needs some of them).
            await context.Invoke();
            return;
        }

        if (grain.GetType().Namespace?.StartsWith(OurNamespace, StringComparison.Ordinal) != true)
        {
            // Orleans' own grains (the management grain: the hosts, every active grain's id, forced collection of idle
            // grains, and with them the sign-in state they hold) answer a cluster client only for a caller signed by this
            // cluster, as ours do; calls between silos and from our grains pass.
            if (context.SourceId is { } from && GrainTypePrefix.IsClient(from))
            {
                RequireSignedCaller(context);
            }

            await context.Invoke();
            return;
        }

        if (context.InterfaceMethod.DeclaringType?.Namespace?.StartsWith(OurNamespace, StringComparison.Ordinal) != true)
        {
            // The runtime's own invocations (reminders, grain timers) pass. A reminder tick runs the grain's scheduled work
            // as the system (purge, backup, prune), so one that a cluster client sends is refused like a forged caller.
            if (context.SourceId is { } source && GrainTypePrefix.IsClient(source))
            {
                if (context.InterfaceMethod.DeclaringType == typeof(IRemindable))
                {
                    forged.Report(CallerCheck.ReminderFromClient, context.InterfaceMethod.Name, context.TargetId, Caller.Envelope?.Caller);
                    throw new TenantAccessDeniedException(Failure.Forbidden, "Reminders are delivered by the cluster only.");
                }

                // A grain extension of the runtime's (deactivate or migrate on idle, which would drop a user grain's sign-in
                // counters) answers a client only for a caller signed by this cluster, like our own interfaces.
                RequireSignedCaller(context);
            }

            await context.Invoke();
            return;
        }

        var envelope = RequireSignedCaller(context);
        var caller = envelope.Caller;

        var key = context.TargetId.Key.ToString();
        if (GrainKeys.TenantOf(key) is { } owner && !caller.IsSuperAdmin)
        {
            if (owner != caller.TenantId)
            {
                if (IsolationProbeGrain.IsProbeTenant(caller.TenantId))
                {
                    // The live probe tries this on purpose every run: expected, not an alarm.
                    logger.LogDebug(IsolationProbeRefusedEvent,
                        "Isolation probe: cross-tenant grain call refused as expected: probe tenant {CallerTenant} called {Method} on {Grain} of tenant {TargetTenant}",
                        caller.TenantId, context.InterfaceMethod.Name, context.TargetId, owner);
                }
                else
                {
                    logger.LogWarning(CrossTenantRefusedEvent,
                        "Security: cross-tenant grain call refused: user {UserId} of tenant {CallerTenant} called {Method} on {Grain} of tenant {TargetTenant}",
                        caller.UserId, caller.TenantId, context.InterfaceMethod.Name, context.TargetId, owner);
                }

                throw new TenantAccessDeniedException(Failure.NotFound, "Not found.");
            }

            // The TenantGrain decides admission itself; the audit log must record even refused requests.
            if (context.Grain is not (ITenantGrain or IAuditLogGrain) && envelope.AdmittedTenant != owner)
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

    /// <summary>The call's envelope when a node of this cluster signed it (unexpired); else the refusal, reported as a forged call.</summary>
    private SignedCaller RequireSignedCaller(IIncomingGrainCallContext context)
    {
        var envelope = Caller.Envelope;
        var check = signer.Verify(envelope);
        if (check != CallerCheck.Valid)
        {
            forged.Report(check, context.InterfaceMethod.Name, context.TargetId, envelope?.Caller);
            throw new TenantAccessDeniedException(Failure.Forbidden, "No caller signed by this cluster.");
        }

        return envelope!;
    }
}
