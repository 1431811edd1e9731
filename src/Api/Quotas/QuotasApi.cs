using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
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
        tenant.MapGet("/quotas", GetQuotasAsync)
            .WithDescription("The tenant's plan and quotas: `users`, `customers`, `apiCallsMonthly` (with `resetsAt`) and `storageBytes`, each " +
                "with its limit, use and percentage, the rate limit and the overrides in force. Tenant admins read their own tenant's (naming " +
                "another is 403); super-admins name the tenant with `?tenantId=`.");
        tenant.MapGet("/usage", GetUsageAsync)
            .WithDescription("The tenant's usage: API calls this month, active users over 24 hours and 30 days, customers, users and storage, " +
                "error rates over 5 minutes and 1 hour, latency percentiles over 5 minutes and a daily history (90 days by default). Tenant " +
                "admins read their own tenant's (naming another is 403); super-admins name the tenant with `?tenantId=`.");
        tenant.MapGet("/alerts", GetAlertsAsync)
            .WithDescription("The tenant's open alerts: a quota at 80 % (warning) or 95 % (critical) of its limit (monthly API calls with " +
                "the projected date they run out), a 5xx rate or p95 latency over its threshold; an alert clears by itself when its condition " +
                "ends. Tenant admins read their own tenant's (naming another is 403); super-admins name the tenant with `?tenantId=`.");

        var admin = routes.MapGroup("/api/admin/tenants").WithTags("Admin: quotas").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        admin.MapPut("/{id:guid}/plan", SetPlanAsync)
            .WithDescription("Moves the tenant to another plan (`{\"plan\"}`, one this server defines) → its quotas like " +
                "`GET /api/tenants/quotas`; a downgrade below the current usage is allowed, growth is then refused. Audited as " +
                "`tenant.plan_changed` in the tenant's and the system log; super-admins only.");
        admin.MapPut("/{id:guid}/quotas", SetOverridesAsync)
            .WithDescription("Overrides plan limits for the tenant: any of `users`, `customers`, `apiCallsMonthly`, `storageBytes` and " +
                "`rateLimitPerSecond` as a whole number (`null` removes an override), optionally until `expiresAt` and with a `reason` → its " +
                "quotas. Audited as `tenant.quota_overridden` in the tenant's and the system log; super-admins only.");
        admin.MapPost("/{id:guid}/quotas/reset", (Guid id, IGrainFactory grains) => Respond(Tenant(grains, id).ResetApiCallsAsync()))
            .WithDescription("Resets the tenant's API-call counter for this month to zero → its quotas. Audited as `tenant.quota_reset` in " +
                "the tenant's and the system log; super-admins only.");
        return routes;
    }

    public sealed record PlanBody(string? Plan);

    public sealed record QuotaResponse(
        long Limit, long Used, double Percent, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ResetsAt);

    public sealed record RateLimitResponse(double PerSecond, double Burst);

    public sealed record OverrideResponse(string Quota, long Value, DateTimeOffset? ExpiresAt, string? Reason);

    public sealed record QuotasResponse(
        string Plan, IReadOnlyDictionary<string, QuotaResponse> Quotas, RateLimitResponse RateLimit, IEnumerable<OverrideResponse> Overrides);

    public sealed record AlertResponse(
        Guid Id, string TenantId, string? TenantName, string Metric, string Level, double Value, double Threshold, DateTimeOffset Since,
        string Message, DateTimeOffset? ProjectedExhaustion);

    public sealed record AlertList(IEnumerable<AlertResponse> Items);

    public sealed record ActiveUsersResponse(long Last24h, long Last30d);

    public sealed record ErrorRateResponse(long Requests, double ServerErrorPercent, double ClientErrorPercent);

    public sealed record ErrorRatesResponse(ErrorRateResponse Last5m, ErrorRateResponse Last1h);

    public sealed record LatencyResponse(string Window, long Samples, double? P50, double? P95, double? P99);

    public sealed record UsageDayResponse(
        DateOnly Day, long ApiCalls, long Requests4xx, long Requests5xx, long Customers, long Users, long StorageBytes, long ActiveUsers);

    public sealed record UsageResponse(
        long ApiCallsThisMonth, ActiveUsersResponse ActiveUsers, long Customers, long Users, long StorageBytes, ErrorRatesResponse ErrorRate,
        LatencyResponse LatencyMs, IEnumerable<UsageDayResponse> History);

    public static QuotasResponse ToResponse(QuotaReport report) => new(
        report.Plan,
        report.Quotas.ToDictionary(q => q.Key, q => new QuotaResponse(q.Value.Limit, q.Value.Used, q.Value.Percent, q.Value.ResetsAt)),
        new RateLimitResponse(report.RateLimit.PerSecond, report.RateLimit.Burst),
        report.Overrides.Select(o => new OverrideResponse(o.Quota, o.Value, o.ExpiresAt, o.Reason)));

    public static AlertResponse ToResponse(Alert a) => new(
        a.Id, a.TenantId == GrainKeys.SystemTenant ? "system" : a.TenantId.ToString("D"), a.TenantName, a.Metric, a.Level, a.Value, a.Threshold,
        a.Since, a.Message, a.ProjectedExhaustion);

    private static ErrorRateResponse ToResponse(ErrorRates rates) => new(rates.Requests, rates.ServerErrorShare, rates.ClientErrorShare);

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

    private static async Task<Results<Ok<QuotasResponse>, FieldProblem, ProblemHttpResult>> GetQuotasAsync(HttpContext http, IGrainFactory grains, AdmissionCache admission, string? tenantId)
    {
        var scope = TenantScope.Resolve(http, tenantId, "quotas and usage");
        if (scope.Refusal<Ok<QuotasResponse>>() is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        var report = await (await admission.SettledTenantAsync(grains, tenant)).GetQuotasAsync();
        return report is null ? Problems.From(Failure.NotFound, "No such tenant.") : TypedResults.Ok(ToResponse(report));
    }

    private static async Task<Results<Ok<UsageResponse>, FieldProblem, ProblemHttpResult>> GetUsageAsync(HttpContext http, IGrainFactory grains, AdmissionCache admission, string? tenantId)
    {
        var scope = TenantScope.Resolve(http, tenantId, "quotas and usage");
        if (scope.Refusal<Ok<UsageResponse>>() is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        var usage = await (await admission.SettledTenantAsync(grains, tenant)).GetUsageAsync();
        if (usage is null)
        {
            return Problems.From(Failure.NotFound, "No such tenant.");
        }

        return TypedResults.Ok(new UsageResponse(
            usage.ApiCallsThisMonth,
            new ActiveUsersResponse(usage.ActiveUsers24h, usage.ActiveUsers30d),
            usage.Customers,
            usage.Users,
            usage.StorageBytes,
            new ErrorRatesResponse(ToResponse(usage.ErrorRate5m), ToResponse(usage.ErrorRate1h)),
            new LatencyResponse("5m", usage.Latency5m.Samples, usage.Latency5m.P50Ms, usage.Latency5m.P95Ms, usage.Latency5m.P99Ms),
            usage.History.Select(d => new UsageDayResponse(d.Day, d.ApiCalls, d.Requests4xx, d.Requests5xx, d.Customers, d.Users, d.StorageBytes, d.ActiveUsers))));
    }

    private static async Task<Results<Ok<AlertList>, FieldProblem, ProblemHttpResult>> GetAlertsAsync(HttpContext http, IGrainFactory grains, string? tenantId)
    {
        var scope = TenantScope.Resolve(http, tenantId, "quotas and usage");
        if (scope.Refusal<Ok<AlertList>>() is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        var alerts = await Tenant(grains, tenant).GetAlertsAsync();
        return TypedResults.Ok(new AlertList(alerts.Select(ToResponse)));
    }

    private static async Task<Results<Ok<QuotasResponse>, FieldProblem, ProblemHttpResult>> SetPlanAsync(Guid id, PlanBody body, IGrainFactory grains)
    {
        if (string.IsNullOrWhiteSpace(body.Plan))
        {
            return new FieldErrors().Check("plan", "A plan is required.").ToProblem();
        }

        return Answer(await Tenant(grains, id).SetPlanAsync(body.Plan));
    }

    private static async Task<Results<Ok<QuotasResponse>, FieldProblem, ProblemHttpResult>> SetOverridesAsync(Guid id, JsonObject body, IGrainFactory grains, TimeProvider time)
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

        return Answer(await Tenant(grains, id).SetOverridesAsync(new OverrideChange(values, expiresAt, reason)));
    }

    private static async Task<Results<Ok<QuotasResponse>, ProblemHttpResult>> Respond(Task<Outcome<QuotaReport>> change)
    {
        var outcome = await change;
        return outcome.Succeeded ? TypedResults.Ok(ToResponse(outcome.Value!)) : Problems.From(outcome);
    }

    /// <summary>A change's quotas, or its problem, for a route that may also refuse its body.</summary>
    private static Results<Ok<QuotasResponse>, FieldProblem, ProblemHttpResult> Answer(Outcome<QuotaReport> outcome) =>
        outcome.Succeeded ? TypedResults.Ok(ToResponse(outcome.Value!)) : Problems.From(outcome);
}
