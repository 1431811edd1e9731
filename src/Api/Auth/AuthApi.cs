using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/auth").WithTags("Auth");
        // 401 invalid-credentials (or a locked-out account), 403 for a suspended tenant or disabled user, 429 for a flood.
        group.MapPost("/login", LoginAsync).AllowAnonymous().WithMetadata(new ProblemResponses(401, 403, 429, 503),
                new RequestExamples(("The new tenant's admin", """{"email": "admin@newcompany.com", "password": "secure_password"}""")))
            .WithDescription("Signs in with `{\"email\", \"password\"}` (and `tenantId` to pick that tenant's account of an address several " +
                "tenants hold) → a bearer access token (`expiresIn` seconds), a refresh token and the user. A wrong password, an unknown address " +
                "and a locked-out address all answer 401 `invalid-credentials`; too many attempts get 429 and a busy node 503, both with " +
                "`Retry-After`, and a suspended tenant or a disabled user 403. Anonymous.");
        group.MapPost("/refresh", RefreshAsync).AllowAnonymous().WithMetadata(new ProblemResponses(401, 403, 429, 503))
            .WithDescription("Exchanges a refresh token (`{\"refreshToken\"}`) for a new token pair like the login's: the old refresh token is " +
                "used up, and presenting a used one again revokes its whole session. An invalid, expired or revoked token is 401 `invalid-token`. " +
                "Anonymous.");
        group.MapPost("/logout", LogoutAsync).AllowAnonymous()
            .WithDescription("Ends the session of a refresh token (`{\"refreshToken\"}`), audited as `auth.logout`; access tokens already issued " +
                "last until they expire. Always 204, whatever the token, so it tells nothing. Anonymous.");
        routes.MapGroup("/api/auth").RequireAdmission(AuthExtensions.AnyUserPolicy).MapGet("/me", GetMeAsync)
            .WithDescription("The signed-in caller: id, e-mail, name, role and tenant (none for a super-admin). Any signed-in person; not an " +
                "API key or a support session (403).");
        return routes;
    }

    private const string RefreshTokenDirectory = "refresh-tokens";

    /// <summary><c>tenantId</c> (optional) signs in to that tenant's account of an e-mail held in several tenants.</summary>
    public sealed record LoginRequest(string? Email, string? Password, string? TenantId = null);

    public sealed record RefreshRequest(string? RefreshToken);

    public sealed record UserBody(Guid Id, string Email, string Name, string Role, Guid? TenantId);

    public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken, UserBody User);

    public static UserBody ToBody(UserDetails user) =>
        new(user.Id, user.Email, user.Name, user.Role, user.Role == Roles.SuperAdmin ? null : user.TenantId);

    private static async Task<Results<Ok<TokenResponse>, FieldProblem, ProblemHttpResult>> LoginAsync(LoginRequest request, HttpContext http, SignInService signIn, TokenIssuer tokens)
    {
        Guid? tenantId = Guid.TryParse(request.TenantId, out var parsed) ? parsed : null;
        var errors = new FieldErrors()
            .Check("email", string.IsNullOrWhiteSpace(request.Email) ? "An e-mail address is required." : null)
            .Check("password", string.IsNullOrEmpty(request.Password) ? "A password is required." : null)
            .Check("tenantId", request.TenantId is not null && tenantId is null ? "tenantId must be a tenant id (a UUID)." : null);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var outcome = await signIn.SignInAsync(request.Email!, request.Password!, http.Connection.RemoteIpAddress, tenantId);
        Problems.SetRetryAfter(http.Response, outcome);
        return outcome.Succeeded ? TypedResults.Ok(Respond(outcome.Value!, tokens)) : Problems.From(outcome.Failure, outcome.Detail);
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> RefreshAsync(RefreshRequest request, IGrainFactory grains, CallerSigner signer, TokenIssuer tokens)
    {
        if (!RefreshTokenFormat.TryParse(request.RefreshToken, out var tenant, out var user, out var tokenId, out var secret))
        {
            return Problems.From(Failure.InvalidToken, "The refresh token is invalid, expired or revoked.");
        }

        signer.EnterSystem();
        // Only a token that exists with this secret, and is live or being reused, costs a user grain activation.
        var status = await grains.GetGrain<IRefreshTokenDirectoryGrain>(RefreshTokenDirectory).FindAsync(tenant, user, tokenId, secret);
        if (status is not (RefreshTokenStatus.Live or RefreshTokenStatus.Consumed))
        {
            return Problems.From(Failure.InvalidToken, "The refresh token is invalid, expired or revoked.");
        }

        var outcome = await grains.GetGrain<IUserGrain>(GrainKeys.User(tenant, user)).RefreshAsync(tokenId, secret);
        return outcome.Succeeded ? TypedResults.Ok(Respond(outcome.Value!, tokens)) : Problems.From(outcome.Failure, outcome.Detail);
    }

    private static async Task<NoContent> LogoutAsync(RefreshRequest request, IGrainFactory grains, CallerSigner signer)
    {
        if (RefreshTokenFormat.TryParse(request.RefreshToken, out var tenant, out var user, out var tokenId, out var secret))
        {
            signer.EnterSystem();
            var status = await grains.GetGrain<IRefreshTokenDirectoryGrain>(RefreshTokenDirectory).FindAsync(tenant, user, tokenId, secret);
            if (status is not (RefreshTokenStatus.Unknown or RefreshTokenStatus.Revoked))
            {
                await grains.GetGrain<IUserGrain>(GrainKeys.User(tenant, user)).RevokeAsync(tokenId, secret);
            }
        }

        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<UserBody>, ProblemHttpResult>> GetMeAsync(HttpContext http, IGrainFactory grains)
    {
        var caller = http.User.ToCaller();
        var user = await grains.GetGrain<IUserGrain>(GrainKeys.User(caller.TenantId, caller.UserId)).GetAsync();
        return user is null ? Problems.From(Failure.NotFound, "No such user.") : TypedResults.Ok(ToBody(user));
    }

    private static TokenResponse Respond(SignIn signIn, TokenIssuer tokens)
    {
        var (access, expiresIn) = tokens.Issue(signIn.User);
        return new TokenResponse(access, "Bearer", expiresIn, signIn.RefreshToken.Token, ToBody(signIn.User));
    }
}
