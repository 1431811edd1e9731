using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

/// <summary>
/// Ending sessions: a user's own ("sign out all my sessions", a password change), one user's by an admin, a whole tenant's
/// by a super-admin. Each revokes refresh-token families: refresh tokens stop at once, web UI cookies within
/// <c>Shohayota:Ui:SessionRevalidation</c>, bearer access tokens at their expiry (at most 15 minutes).
/// </summary>
public static class SessionsApi
{
    public static IEndpointRouteBuilder MapSessionsApi(this IEndpointRouteBuilder routes)
    {
        var self = routes.MapGroup("/api/auth").WithTags("Auth").RequireAdmission(AuthExtensions.AnyUserPolicy);
        self.MapPost("/password", ChangePasswordAsync)
            .WithDescription("Changes the caller's password (`{\"currentPassword\", \"newPassword\"}`): every session of theirs ends in the " +
                "same transaction, audited as `user.password_changed`, and the answer is a fresh token pair like the login's. A wrong current " +
                "password is 401 `invalid-credentials` and counts toward the sign-in delay and lockout; a new password that breaks the policy or " +
                "equals the current one is 400. Any signed-in person; not an API key or a support session (403).");
        self.MapPost("/sessions/revoke", RevokeOwnSessionsAsync)
            .WithDescription("Signs the caller out of all their sessions (every refresh token stops at once, web UI sessions within seconds; " +
                "access tokens already issued last until they expire) → 204, audited as `user.sessions_revoked`. Any signed-in person; not an " +
                "API key or a support session (403).");
        // Tenant admins for their tenant's users, super-admins for anyone's (naming the tenant with ?tenantId=).
        routes.MapGroup("/api/users").WithTags("Users").RequireAdmission(AuthExtensions.AuditReaderPolicy)
            .MapPost("/{id:guid}/sessions/revoke", RevokeUserSessionsAsync)
            .WithDescription("Signs a user out of all their sessions → 204, audited as `user.sessions_revoked`; access tokens already issued last " +
                "until they expire. Tenant admins for their own tenant's users (another tenant's user is 404 like a missing one); super-admins " +
                "for anyone's, naming the tenant with `?tenantId=` (an id, or `system` for a super-admin's account).");
        routes.MapGroup("/api/admin/tenants").WithTags("Admin: tenants").RequireAdmission(AuthExtensions.SuperAdminPolicy)
            .MapPost("/{id:guid}/sessions/revoke", RevokeTenantSessionsAsync)
            .WithDescription("Signs every user of the tenant out of every session → `{\"revokedSessions\"}`, audited as " +
                "`tenant.sessions_revoked` in the tenant's and the system log; access tokens already issued last until they expire. Super-admins only.");
        return routes;
    }

    public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

    public sealed record RevokedSessionsResponse(int RevokedSessions);

    private static async Task<Results<Ok<AuthApi.TokenResponse>, FieldProblem, ProblemHttpResult>> ChangePasswordAsync(
        ChangePasswordRequest request, HttpContext http, IGrainFactory grains, TokenIssuer tokens, SignInMonitor monitor)
    {
        var caller = http.User.ToCaller();
        var errors = new FieldErrors()
            .Check("currentPassword", string.IsNullOrEmpty(request.CurrentPassword) ? "Your current password is required." : null)
            .Check("newPassword", PasswordHashing.Validate(request.NewPassword, caller.Email));
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var outcome = await grains.GetGrain<IUserGrain>(GrainKeys.User(caller.TenantId, caller.UserId))
            .ChangePasswordAsync(request.CurrentPassword!, request.NewPassword!);
        Problems.SetRetryAfter(http.Response, outcome);
        if (!outcome.Succeeded)
        {
            if (outcome.Failure == Failure.InvalidCredentials)
            {
                monitor.Record(SignInResult.Failed, http.Connection.RemoteIpAddress);
                return Problems.From(Failure.InvalidCredentials, SignInService.Invalid);
            }

            return outcome.Failure == Failure.Validation
                ? new FieldErrors().Check("newPassword", outcome.Detail).ToProblem()
                : Problems.From(outcome);
        }

        var signIn = outcome.Value!;
        var (access, expiresIn) = tokens.Issue(signIn.User);
        return TypedResults.Ok(new AuthApi.TokenResponse(access, "Bearer", expiresIn, signIn.RefreshToken.Token, AuthApi.ToBody(signIn.User)));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeOwnSessionsAsync(HttpContext http, IGrainFactory grains)
    {
        var caller = http.User.ToCaller();
        var outcome = await grains.GetGrain<IUserGrain>(GrainKeys.User(caller.TenantId, caller.UserId)).RevokeSessionsAsync();
        return outcome.Succeeded ? TypedResults.NoContent() : Problems.From(outcome);
    }

    private static async Task<Results<NoContent, FieldProblem, ProblemHttpResult>> RevokeUserSessionsAsync(Guid id, string? tenantId, HttpContext http, IGrainFactory grains)
    {
        var scope = TenantScope.Resolve(http, tenantId, "users", allowSystem: true);
        if (scope.Refusal<NoContent>() is { } outOfScope)
        {
            return outOfScope;
        }

        var tenant = scope.Tenant;

        var outcome = await grains.GetGrain<IUserGrain>(GrainKeys.User(tenant, id)).RevokeSessionsAsync();
        return outcome.Succeeded ? TypedResults.NoContent() : Problems.From(outcome);
    }

    private static async Task<Results<Ok<RevokedSessionsResponse>, ProblemHttpResult>> RevokeTenantSessionsAsync(Guid id, IGrainFactory grains)
    {
        var outcome = await grains.GetGrain<ISessionsGrain>(GrainKeys.Sessions(id)).RevokeAllAsync();
        return outcome.Succeeded ? TypedResults.Ok(new RevokedSessionsResponse(outcome.Value)) : Problems.From(outcome);
    }
}
