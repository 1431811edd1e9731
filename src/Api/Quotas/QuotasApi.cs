using System.Text.Json.Nodes;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Api.Quotas;

/// <summary>Plans, quotas, usage and alerts of one tenant (the runbook's "Quota Exceeded" and "Monitoring" sections).</summary>
public static class QuotasApi
{
    public static IEndpointRouteBuilder MapQuotasApi(this IEndpointRouteBuilder routes)
    {
        var tenant = routes.MapGroup("/api/tenants").WithTags("Quotas").RequireAdmission(AuthExtensions.AuditReaderPolicy);
        tenant.MapGet("/quotas", GetQuotasAsync);
        tenant.MapGet("/usage", GetUsageAsync);
        tenant.MapGet("/alerts", GetAlertsAsync);

        var admin = routes.MapGroup("/api/admin/tenants").WithTags("Admin: quotas").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        admin.MapPut("/{id:guid}/plan", SetPlanAsync);
        admin.MapPut("/{id:guid}/quotas", SetOverridesAsync);
        admin.MapPost("/{id:guid}/quotas/reset", (Guid id, IGrainFactory grains) => Respond(Tenant(grains, id).ResetApiCallsAsync()));
        return routes;
    }

    public sealed record PlanBody(string? Plan);

    public static object ToResponse(QuotaReport report) => new
    {
        plan = report.Plan,
        quotas = report.Quotas.ToDictionary(q => q.Key, q => q.Value.ResetsAt is { } resets
            ? (object)new { limit = q.Value.Limit, used = q.Value.Used, percent = q.Value.Percent, resetsAt = resets }
            : new { limit = q.Value.Limit, used = q.Value.Used, percent = q.Value.Percent }),
        rateLimit = new { perSecond = report.RateLimit.PerSecond, burst = report.RateLimit.Burst },
        overrides = report.Overrides.Select(o => new { quota = o.Quota, value = o.Value, expiresAt = o.ExpiresAt, reason = o.Reason }),
    };

    public static object ToResponse(Alert a) => new
    {
        id = a.Id,
        tenantId = a.TenantId == GrainKeys.SystemTenant ? "system" : a.TenantId.ToString("D"),
        tenantName = a.TenantName,
        metric = a.Metric,
        level = a.Level,
        value = a.Value,
        threshold = a.Threshold,
        since = a.Since,
        message = a.Message,
        projectedExhaustion = a.ProjectedExhaustion,
    };

    private static ITenantGrain Tenant(IGrainFactory grains, Guid id) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

    /// <summary>
    /// The tenant's TenantGrain for reading quotas and usage, after this node's lease of it has reported: the API calls it
    /// counts are then the requests this node admitted, not the block it leased (other nodes' unspent leases count until
    /// they report). Every read of quota usage does this, the API's and the web UI's alike.
    /// </summary>
    public static async Task<ITenantGrain> SettledTenantAsync(this AdmissionCache admission, IGrainFactory grains, Guid tenantId)
    {
        await admission.SettleAsync(tenantId);
        return Tenant(grains, tenantId);
    }

    private static async Task<IResult> GetQuotasAsync(HttpContext http, IGrainFactory grains, AdmissionCache admission, string? tenantId)
    {
        var (tenant, problem) = TenantScope.Resolve(http, tenantId, "quotas and usage");
        if (problem is not null)
        {
            return problem;
        }

        var report = await (await admission.SettledTenantAsync(grains, tenant)).GetQuotasAsync();
        return report is null ? Problems.From(Failure.NotFound, "No such tenant.") : TypedResults.Ok(ToResponse(report));
    }

    private static async Task<IResult> GetUsageAsync(HttpContext http, IGrainFactory grains, AdmissionCache admission, string? tenantId)
    {
        var (tenant, problem) = TenantScope.Resolve(http, tenantId, "quotas and usage");
        if (problem is not null)
        {
            return problem;
        }

        var usage = await (await admission.SettledTenantAsync(grains, tenant)).GetUsageAsync();
        if (usage is null)
        {
            return Problems.From(Failure.NotFound, "No such tenant.");
        }

        return TypedResults.Ok(new
        {
            apiCallsThisMonth = usage.ApiCallsThisMonth,
            activeUsers = new { last24h = usage.ActiveUsers24h, last30d = usage.ActiveUsers30d },
            customers = usage.Customers,
            users = usage.Users,
            storageBytes = usage.StorageBytes,
            errorRate = new
            {
                last5m = new { requests = usage.ErrorRate5m.Requests, serverErrorPercent = usage.ErrorRate5m.ServerErrorShare, clientErrorPercent = usage.ErrorRate5m.ClientErrorShare },
                last1h = new { requests = usage.ErrorRate1h.Requests, serverErrorPercent = usage.ErrorRate1h.ServerErrorShare, clientErrorPercent = usage.ErrorRate1h.ClientErrorShare },
            },
            latencyMs = new { window = "5m", samples = usage.Latency5m.Samples, p50 = usage.Latency5m.P50Ms, p95 = usage.Latency5m.P95Ms, p99 = usage.Latency5m.P99Ms },
            history = usage.History.Select(d => new
            {
                day = d.Day,
                apiCalls = d.ApiCalls,
                requests4xx = d.Requests4xx,
                requests5xx = d.Requests5xx,
                customers = d.Customers,
                users = d.Users,
                storageBytes = d.StorageBytes,
                activeUsers = d.ActiveUsers,
            }),
        });
    }

    private static async Task<IResult> GetAlertsAsync(HttpContext http, IGrainFactory grains, string? tenantId)
    {
        var (tenant, problem) = TenantScope.Resolve(http, tenantId, "quotas and usage");
        if (problem is not null)
        {
            return problem;
        }

        var alerts = await Tenant(grains, tenant).GetAlertsAsync();
        return TypedResults.Ok(new { items = alerts.Select(ToResponse) });
    }

    private static async Task<IResult> SetPlanAsync(Guid id, PlanBody body, IGrainFactory grains)
    {
        if (string.IsNullOrWhiteSpace(body.Plan))
        {
            return new FieldErrors().Check("plan", "A plan is required.").ToProblem();
        }

        return await Respond(Tenant(grains, id).SetPlanAsync(body.Plan));
    }

    private static async Task<IResult> SetOverridesAsync(Guid id, JsonObject body, IGrainFactory grains, TimeProvider time)
    {
        var errors = new FieldErrors();
        var values = new Dictionary<string, long?>(StringComparer.Ordinal);
        DateTimeOffset? expiresAt = null;
        string? reason = null;
        foreach (var (key, node) in body)
        {
            if (QuotaNames.Overridable.Contains(key))
            {
                if (node is null)
                {
                    values[key] = null;
                }
                else if (node is JsonValue v && v.TryGetValue<long>(out var number) && number >= 0)
                {
                    values[key] = number;
                }
                else
                {
                    errors.Check(key, "A quota override is a whole number ≥ 0, or null to remove it.");
                }
            }
            else if (key == "expiresAt")
            {
                if (node is JsonValue v && v.TryGetValue<DateTimeOffset>(out var at) && at > time.GetUtcNow())
                {
                    expiresAt = at;
                }
                else if (node is not null)
                {
                    errors.Check(key, "expiresAt must be a future ISO 8601 time.");
                }
            }
            else if (key == "reason")
            {
                reason = node is JsonValue r && r.TryGetValue<string>(out var text) && text.Length <= 500 ? text : null;
                errors.Check(key, node is not null && reason is null ? "A reason is text of at most 500 characters." : null);
            }
            else
            {
                errors.Check(key, $"Unknown field; use {string.Join(", ", QuotaNames.Overridable)}, expiresAt, reason.");
            }
        }

        if (values.Count == 0 && !errors.Any)
        {
            errors.Check("quotas", "Name at least one quota to override or remove.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        return await Respond(Tenant(grains, id).SetOverridesAsync(new OverrideChange(values, expiresAt, reason)));
    }

    private static async Task<IResult> Respond(Task<Outcome<QuotaReport>> change)
    {
        var outcome = await change;
        return outcome.Succeeded ? TypedResults.Ok(ToResponse(outcome.Value!)) : Problems.From(outcome);
    }
}
