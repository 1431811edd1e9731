using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Tenants;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Support;

namespace Shohayota.Api.Support;

/// <summary>
/// Support access the tenant can see: a super-admin opens a session acting as one of the tenant's users (a short-lived
/// token); the tenant's admins list and end sessions and allow or forbid support access (<c>/api/tenants/settings</c>).
/// </summary>
public static class SupportApi
{
    public static IEndpointRouteBuilder MapSupportApi(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin/tenants").WithTags("Admin: support sessions").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        admin.MapPost("/{id:guid}/support-sessions", OpenAsync)
            .WithDescription("Opens a support session acting as one of the tenant's users (`{\"userId\", \"reason\", \"minutes\"}`, 1–60 " +
                "minutes) → 201 with the session and, this once, its bearer token. 403 `support-access-disabled` when the tenant forbids support " +
                "access, 404 for a user who is not the tenant's, 409 for a disabled one; audited as `support.session_opened` in the tenant's and " +
                "the system log, and every request made with the token as `support.request`. Super-admins only.");
        admin.MapGet("/{id:guid}/support-sessions", async (Guid id, IGrainFactory grains) =>
                await TenantRoutes.ExistsAsync(grains, id) ? await ListAsync(Sessions(grains, id)) : TenantRoutes.NoSuchTenant())
            .WithDescription("A tenant's support sessions, open and ended, newest first. Super-admins only; an unknown tenant is 404.");
        admin.MapDelete("/{id:guid}/support-sessions/{sessionId:guid}", async (Guid id, Guid sessionId, IGrainFactory grains, SupportSessionCache cache) =>
                await TenantRoutes.ExistsAsync(grains, id) ? await EndAsync(grains, id, sessionId, cache) : TenantRoutes.NoSuchTenant())
            .WithDescription("Ends one of a tenant's support sessions → 200 with the session (ending an ended one changes nothing); its token " +
                "is refused at once on this node and within seconds on the others. Audited as `support.session_ended`; super-admins only. An " +
                "unknown tenant or session is 404.");

        var tenant = routes.MapGroup("/api/tenants").WithTags("Support sessions").RequireAdmission(AuthExtensions.TenantAdminInPersonPolicy);
        tenant.MapGet("/support-sessions", (HttpContext http, IGrainFactory grains) => ListAsync(Sessions(grains, http.User.ToCaller().TenantId)))
            .WithDescription("The support sessions super-admins opened on the caller's tenant, newest first: who opened it, acting as which " +
                "user, why, until when, and whether it is still active. A tenant admin signed in as themselves; not an API key or a support session (403).");
        tenant.MapDelete("/support-sessions/{id:guid}", (Guid id, HttpContext http, IGrainFactory grains, SupportSessionCache cache) =>
                EndAsync(grains, http.User.ToCaller().TenantId, id, cache))
            .WithDescription("Ends a support session on the caller's tenant → 200 with the session (ending an ended one changes nothing); its " +
                "token is refused at once on this node and within seconds on the others. Audited as `support.session_ended`; another tenant's " +
                "session is 404 like a missing one. A tenant admin signed in as themselves; not an API key or a support session (403).");
        tenant.MapGet("/settings", GetSettingsAsync)
            .WithDescription("The tenant's settings: `{\"allowSupportAccess\"}` (true unless the tenant turned it off). A tenant admin signed " +
                "in as themselves; not an API key or a support session (403).");
        tenant.MapPut("/settings", SetSettingsAsync)
            .WithDescription("Allows or forbids support access (`{\"allowSupportAccess\": true|false}`): forbidding it ends every open " +
                "support session and makes new ones 403 `support-access-disabled`. Audited as `tenant.settings_changed` (when it changes); a " +
                "tenant admin signed in as themselves, not an API key or a support session (403).");
        return routes;
    }

    public sealed record OpenBody(Guid? UserId, string? Reason, int? Minutes);

    public sealed record SupportSessionResponse(
        Guid Id, Guid TenantId, Guid UserId, string UserEmail, string OpenedBy, string Reason, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt,
        DateTimeOffset? EndedAt, bool Active);

    /// <summary>The session and, this once, its token (acting as the user until the session expires or ends).</summary>
    public sealed record OpenedResponse(SupportSessionResponse Session, string AccessToken, string TokenType, int ExpiresIn);

    public sealed record SupportSessionList(IReadOnlyList<SupportSessionResponse> Items);

    public sealed record SettingsBody(bool? AllowSupportAccess);

    public sealed record SettingsResponse(bool AllowSupportAccess);

    public static SupportSessionResponse ToResponse(SupportSessionDetails s) =>
        new(s.Id, s.TenantId, s.UserId, s.UserEmail, s.OpenedByEmail, s.Reason, s.CreatedAt, s.ExpiresAt, s.EndedAt, s.IsActiveAt(DateTimeOffset.UtcNow));

    private static SettingsResponse ToResponse(TenantSettings settings) => new(settings.AllowSupportAccess);

    private static ISupportSessionsGrain Sessions(IGrainFactory grains, Guid tenantId) =>
        grains.GetGrain<ISupportSessionsGrain>(GrainKeys.SupportSessions(tenantId));

    private static async Task<Results<Created<OpenedResponse>, FieldProblem, ProblemHttpResult>> OpenAsync(Guid id, OpenBody body, IGrainFactory grains, TokenIssuer tokens)
    {
        var errors = new FieldErrors()
            .Check("userId", body.UserId is null ? "The user to act as is required." : null)
            .Check("reason", SupportRules.ValidateReason(body.Reason))
            .Check("minutes", SupportRules.ValidateMinutes(body.Minutes));
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (!await TenantRoutes.ExistsAsync(grains, id))
        {
            return TenantRoutes.NoSuchTenant();
        }

        var outcome = await Sessions(grains, id).OpenAsync(new OpenSupportSessionRequest(body.UserId!.Value, body.Reason!, body.Minutes!.Value));
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        var (token, expiresIn) = tokens.IssueSupport(outcome.Value!.User, outcome.Value.Session);
        return TypedResults.Created($"/api/admin/tenants/{id}/support-sessions", new OpenedResponse(ToResponse(outcome.Value.Session), token, "Bearer", expiresIn));
    }

    private static async Task<Results<Ok<SupportSessionList>, ProblemHttpResult>> ListAsync(ISupportSessionsGrain sessions)
    {
        var outcome = await sessions.ListAsync();
        return outcome.Succeeded ? TypedResults.Ok(new SupportSessionList(outcome.Value!.Select(ToResponse).ToList())) : Problems.From(outcome);
    }

    private static async Task<Results<Ok<SupportSessionResponse>, ProblemHttpResult>> EndAsync(IGrainFactory grains, Guid tenantId, Guid sessionId, SupportSessionCache cache)
    {
        var outcome = await Sessions(grains, tenantId).EndAsync(sessionId);
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        cache.ForgetTenant(tenantId);
        return TypedResults.Ok(ToResponse(outcome.Value!));
    }

    private static async Task<Results<Ok<SettingsResponse>, ProblemHttpResult>> GetSettingsAsync(HttpContext http, IGrainFactory grains)
    {
        var outcome = await Sessions(grains, http.User.ToCaller().TenantId).GetSettingsAsync();
        return outcome.Succeeded ? TypedResults.Ok(ToResponse(outcome.Value!)) : Problems.From(outcome);
    }

    private static async Task<Results<Ok<SettingsResponse>, FieldProblem, ProblemHttpResult>> SetSettingsAsync(SettingsBody body, HttpContext http, IGrainFactory grains, SupportSessionCache cache)
    {
        var errors = new FieldErrors().Check("allowSupportAccess", body.AllowSupportAccess is null ? "allowSupportAccess (true or false) is required." : null);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var tenantId = http.User.ToCaller().TenantId;
        var outcome = await Sessions(grains, tenantId).SetSettingsAsync(new TenantSettings(body.AllowSupportAccess!.Value));
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        cache.ForgetTenant(tenantId);
        return TypedResults.Ok(ToResponse(outcome.Value!));
    }
}
