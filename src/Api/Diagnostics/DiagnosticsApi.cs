using Shohayota.Api.Auth;
using Shohayota.Grains.Interfaces.Diagnostics;

namespace Shohayota.Api.Diagnostics;

/// <summary>The runbook's "Database RLS policies are active" check, for operators.</summary>
public static class DiagnosticsApi
{
    public static IEndpointRouteBuilder MapDiagnosticsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/diagnostics").WithTags("Admin: diagnostics").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        group.MapGet("/isolation", async (IGrainFactory grains) =>
            {
                var probe = grains.GetGrain<IIsolationProbeGrain>("isolation");
                return TypedResults.Ok(ToResponse(await probe.GetLastAsync() ?? await probe.RunAsync()));
            })
            .WithDescription("The last tenant-isolation report: row-level security enabled and forced on each tenant table with its " +
                "policies, whether the runtime role could bypass it, and the cross-tenant probe's checks (run on a timer; run now if it has " +
                "not run yet). Super-admins only.");
        group.MapPost("/isolation/probe", async (IGrainFactory grains) =>
                TypedResults.Ok(ToResponse(await grains.GetGrain<IIsolationProbeGrain>("isolation").RunAsync())))
            .WithDescription("Runs the cross-tenant isolation probe now (two internal probe tenants try to read each other's rows through " +
                "the grain and database layers) and answers the fresh report like `GET /api/admin/diagnostics/isolation`. Super-admins only.");
        return routes;
    }

    private static object ToResponse(IsolationReport report) => new
    {
        healthy = report.Healthy,
        tables = report.Tables.Select(t => new
        {
            table = t.Table,
            rlsEnabled = t.RlsEnabled,
            rlsForced = t.RlsForced,
            policies = t.Policies,
            owner = t.Owner,
            @protected = t.Protected,
        }),
        runtimeRole = new
        {
            name = report.RuntimeRole,
            superuser = report.RuntimeRoleIsSuperuser,
            bypassRls = report.RuntimeRoleBypassesRls,
            ownsTables = report.RuntimeRoleOwnsTables,
            canBypassRls = report.RuntimeRoleIsSuperuser || report.RuntimeRoleBypassesRls || report.RuntimeRoleOwnsTables,
        },
        probe = new
        {
            ranAt = report.ProbedAt,
            durationMs = Math.Round(report.ProbeDuration.TotalMilliseconds, 1),
            foreignRowsSeen = report.ForeignRowsSeen,
            everLeaked = report.EverLeaked,
            checks = report.Checks.Select(c => new { layer = c.Layer, name = c.Name, passed = c.Passed, detail = c.Detail }),
        },
    };
}
