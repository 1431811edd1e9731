using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Api.Audit;

/// <summary>The audit log: reading and verifying a tenant's chain, incidents, and the runbook's test entry.</summary>
public static class AuditApi
{
    private static readonly HashSet<string> ListParameters = new(StringComparer.Ordinal)
        { "tenantId", "action", "actorId", "targetId", "outcome", "from", "to", "pageSize", "cursor" };

    private static readonly string[] Severities = ["low", "medium", "high", "critical"];

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        var logs = routes.MapGroup("/api/audit-logs").WithTags("Audit").RequireAdmission(AuthExtensions.AuditReaderPolicy);
        logs.MapGet("/", ListAuditLogsAsync)
            .WithMetadata(new QueryParameters(["tenantId", "action", "actorId", "targetId", "outcome", "from", "to", "pageSize", "cursor"]))
            .WithDescription("A page of an audit log, newest first: filter by `action` (a prefix), `actorId`, `targetId`, `outcome`, `from` " +
                "and `to`; keyset pagination with `pageSize` (≤ 200, default 50) and `cursor`. Tenant admins read their own tenant's log; " +
                "super-admins name it with `?tenantId=` (an id, or `system` for the system log), and their read is recorded in that tenant's " +
                "log as `audit.read`.");
        logs.MapGet("/verify", VerifyAuditLogAsync)
            .WithDescription("Re-hashes the whole audit chain and checks it against its anchors → `valid: true` with the entries and the head " +
                "hash, or `valid: false` with `brokenAtSeq` and the problem. One verification per tenant and node at a time, else 429. Tenant " +
                "admins verify their own tenant's log; super-admins name it with `?tenantId=` (an id or `system`), recorded as `audit.verified`.");

        // Admins only: every call appends a row kept for the retention period, so members must not loop it.
        routes.MapGroup("/api/test").WithTags("Audit").RequireAdmission(AuthExtensions.AuditReaderPolicy).MapPost("/audit", WriteTestEntryAsync)
            .WithDescription("Writes an `audit.test` entry to the caller's audit log (a super-admin's to the system log) → 201 with the entry: " +
                "the runbook's check that auditing works. Tenant admins and super-admins; a member is 403.");
        routes.MapGroup("/api/tenants").WithTags("Audit").RequireAdmission(AuthExtensions.TenantAdminPolicy).MapGet("/incidents", ListIncidentsAsync)
            .WithDescription("The incidents operators recorded for the caller's tenant, newest first (at most 200): title, description, " +
                "severity, when, and who recorded it. Tenant admins (or an admin API key) only.");
        routes.MapGroup("/api/admin/tenants").WithTags("Admin: tenants").RequireAdmission(AuthExtensions.SuperAdminPolicy)
            .MapPost("/{id:guid}/incidents", RecordIncidentAsync)
            .WithDescription("Records an incident for a tenant (`{\"title\", \"description\", \"severity\": \"low|medium|high|critical\"}`) " +
                "as `incident.recorded` in its audit log and the system log → 201 with the tenant's entry; its admins see it in " +
                "`GET /api/tenants/incidents`. Super-admins only; an unknown tenant is 404.");
        return routes;
    }

    public sealed record IncidentBody(string? Title, string? Description, string? Severity);

    public sealed record ActorResponse(Guid? Id, string? Email, string? Role);

    public sealed record TargetResponse(string? Type, string? Id);

    public sealed record AuditEntryResponse(
        Guid Id, string TenantId, long Seq, DateTimeOffset At, ActorResponse Actor, string Action, TargetResponse Target, string Outcome,
        string? Ip, string? UserAgent, string? RequestId, JsonNode? Details, string PrevHash, string Hash);

    public sealed record AuditEntryList(IEnumerable<AuditEntryResponse> Items, string? NextCursor);

    public sealed record AnchorsResponse(long Checked, long Matched, DateTimeOffset? LastAnchorAt);

    /// <summary>A valid chain names its head; a broken one where it breaks and why.</summary>
    public sealed record VerificationResponse(
        bool Valid,
        long Entries,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? HeadHash,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? BrokenAtSeq,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Problem,
        AnchorsResponse Anchors);

    public sealed record IncidentResponse(Guid Id, DateTimeOffset At, string? Title, string? Description, string? Severity, string? RecordedBy);

    public sealed record IncidentList(IEnumerable<IncidentResponse> Items);

    public static AuditEntryResponse ToResponse(AuditEntry e) => new(
        e.Id,
        e.TenantId == GrainKeys.SystemTenant ? "system" : e.TenantId.ToString("D"),
        e.Seq,
        e.At,
        new ActorResponse(e.Actor.Id, e.Actor.Email, e.Actor.Role),
        e.Action,
        new TargetResponse(e.TargetType, e.TargetId),
        e.Outcome,
        e.Ip,
        e.UserAgent,
        e.RequestId,
        e.Details is null ? null : JsonNode.Parse(e.Details),
        AuditChain.Hex(e.PrevHash),
        AuditChain.Hex(e.Hash));

    private static async Task<Results<Ok<AuditEntryList>, FieldProblem, ProblemHttpResult>> ListAuditLogsAsync(HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        string? One(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        var scope = TenantScope.Resolve(http, One("tenantId"), "audit log", allowSystem: true);
        if (scope.Refusal<Ok<AuditEntryList>>() is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        var errors = new FieldErrors();
        foreach (var unknown in query.Keys.Where(k => !ListParameters.Contains(k)))
        {
            errors.Check(unknown, "Unknown parameter.");
        }

        var pageSize = 50;
        Guid? actor = null;
        DateTimeOffset? from = null, to = null;
        long? before = null;
        if (One("pageSize") is { } size && !(int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) && pageSize is >= 1 and <= 200))
        {
            errors.Check("pageSize", "pageSize must be a whole number from 1 to 200.");
        }

        if (One("actorId") is { } actorText)
        {
            errors.Check("actorId", Guid.TryParse(actorText, out var parsed) ? null : "actorId must be a user id.");
            actor = parsed;
        }

        var outcome = One("outcome");
        errors.Check("outcome", outcome is null or AuditOutcomes.Success or AuditOutcomes.Denied or AuditOutcomes.Failed ? null : "outcome must be success, denied or failed.");
        if (One("from") is { } fromText)
        {
            errors.Check("from", DateTimeOffset.TryParse(fromText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var f) ? null : "from must be an ISO 8601 time.");
            from = f;
        }

        if (One("to") is { } toText)
        {
            errors.Check("to", DateTimeOffset.TryParse(toText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? null : "to must be an ISO 8601 time.");
            to = t;
        }

        if (One("cursor") is { } cursor)
        {
            errors.Check("cursor", long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq > 0 ? null : "The cursor is not one this API returned.");
            before = seq;
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var page = await grains.GetGrain<IAuditQueryGrain>(GrainKeys.AuditQuery(tenant))
            .ListAsync(new AuditQuery(One("action"), actor, One("targetId"), outcome, from, to, pageSize, before));
        await RecordOperatorReadAsync(http, grains, tenant, "audit.read");
        return TypedResults.Ok(new AuditEntryList(page.Items.Select(ToResponse), page.NextBeforeSeq?.ToString(CultureInfo.InvariantCulture)));
    }

    private static async Task<Results<Ok<VerificationResponse>, FieldProblem, ProblemHttpResult>> VerifyAuditLogAsync(HttpContext http, IGrainFactory grains, HeavyRouteLimiter heavy, string? tenantId)
    {
        var scope = TenantScope.Resolve(http, tenantId, "audit log", allowSystem: true);
        if (scope.Refusal<Ok<VerificationResponse>>() is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        // Released when the scan has finished (a client that goes away does not stop the grain's scan).
        using var permit = heavy.TryEnter(http, HeavyRoute.Verify, tenant, out var refused);
        if (permit is null)
        {
            return refused!;
        }

        var result = await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant)).VerifyAsync();
        await RecordOperatorReadAsync(http, grains, tenant, "audit.verified");
        var anchors = new AnchorsResponse(result.Anchors?.Checked ?? 0, result.Anchors?.Matched ?? 0, result.Anchors?.LastAnchorAt);
        return TypedResults.Ok(result.Valid
            ? new VerificationResponse(true, result.Entries, result.HeadHash, null, null, anchors)
            : new VerificationResponse(false, result.Entries, null, result.BrokenAtSeq, result.Problem, anchors));
    }

    private static async Task<Created<AuditEntryResponse>> WriteTestEntryAsync(HttpContext http, IGrainFactory grains)
    {
        var caller = http.User.ToCaller();
        var entries = await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(caller.TenantId))
            .AppendAsync([new AuditDraft("audit.test", "audit", null)]);
        return TypedResults.Created($"/api/audit-logs?action=audit.test", ToResponse(entries[0]));
    }

    public static IReadOnlyList<string> IncidentSeverities => Severities;

    /// <summary>An incident's field errors; the super-admin console shows the same ones next to its fields.</summary>
    public static FieldErrors ValidateIncident(IncidentBody body) => new FieldErrors()
        .Check("title", string.IsNullOrWhiteSpace(body.Title) ? "A title is required." : body.Title.Length > 200 ? "A title has at most 200 characters." : null)
        .Check("description", body.Description is { Length: > 10_000 } ? "A description has at most 10,000 characters." : null)
        .Check("severity", body.Severity is not null && Severities.Contains(body.Severity) ? null : $"Severity must be one of: {string.Join(", ", Severities)}.");

    /// <summary>Records a validated incident in the tenant's and the system log; null when there is no such tenant.</summary>
    public static async Task<AuditEntry?> AppendIncidentAsync(IGrainFactory grains, Guid id, IncidentBody body)
    {
        if (await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id)).GetAsync() is null)
        {
            return null;
        }

        var draft = new AuditDraft("incident.recorded", "tenant", id.ToString("D"),
            Details: AuditChain.Details(new { title = body.Title, description = body.Description, severity = body.Severity }));
        var entries = await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(id)).AppendAsync([draft]);
        await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant)).AppendAsync([draft]);
        return entries[0];
    }

    private static async Task<Results<Created<AuditEntryResponse>, FieldProblem, ProblemHttpResult>> RecordIncidentAsync(Guid id, IncidentBody body, IGrainFactory grains)
    {
        var errors = ValidateIncident(body);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var entry = await AppendIncidentAsync(grains, id, body);
        return entry is null
            ? Problems.From(Failure.NotFound, "No such tenant.")
            : TypedResults.Created($"/api/audit-logs?tenantId={id}&action=incident.", ToResponse(entry));
    }

    private static async Task<Results<Ok<IncidentList>, FieldProblem, ProblemHttpResult>> ListIncidentsAsync(HttpContext http, IGrainFactory grains, string? tenantId)
    {
        var scope = TenantScope.Resolve(http, tenantId, "audit log", allowSystem: true);
        if (scope.Refusal<Ok<IncidentList>>() is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        var page = await grains.GetGrain<IAuditQueryGrain>(GrainKeys.AuditQuery(tenant))
            .ListAsync(new AuditQuery("incident.", null, null, null, null, null, 200, null));
        return TypedResults.Ok(new IncidentList(page.Items.Select(e =>
        {
            var details = e.Details is null ? null : JsonNode.Parse(e.Details);
            return new IncidentResponse(e.Id, e.At, details?["title"]?.GetValue<string>(), details?["description"]?.GetValue<string>(),
                details?["severity"]?.GetValue<string>(), e.Actor.Email);
        })));
    }

    // A tenant admin can see when operators looked at their log.
    private static Task RecordOperatorReadAsync(HttpContext http, IGrainFactory grains, Guid tenant, string action) =>
        RecordOperatorReadAsync(http.User.ToCaller(), grains, tenant, action);

    public static async Task RecordOperatorReadAsync(Caller caller, IGrainFactory grains, Guid tenant, string action)
    {
        if (caller.IsSuperAdmin && tenant != GrainKeys.SystemTenant)
        {
            await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant)).AppendAsync([new AuditDraft(action, "audit", null)]);
        }
    }
}
