using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.IdentityModel.JsonWebTokens;
using Shohayota.Api.Auth;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Web;

/// <summary>The UI's cookie session: the same claims as an access token, plus the refresh-token family sign-out revokes.</summary>
public static class UiAuth
{
    public const string CookieScheme = "shohayota-cookie";
    public const string SessionClaim = "sh_session";
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    public static ClaimsPrincipal Principal(SignIn signIn)
    {
        var user = signIn.User;
        var claims = new List<Claim>
        {
            new(JwtRegisteredClaimNames.Sub, user.Id.ToString("D")),
            new(JwtRegisteredClaimNames.Email, user.Email),
            new(JwtRegisteredClaimNames.Name, user.Name),
            new(TokenIssuer.RoleClaim, user.Role),
            new(SessionClaim, signIn.RefreshToken.Token),
        };
        if (user.Role != Roles.SuperAdmin)
        {
            claims.Add(new Claim(TokenIssuer.TenantClaim, user.TenantId.ToString("D")));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieScheme, JwtRegisteredClaimNames.Name, TokenIssuer.RoleClaim));
    }

    /// <summary>
    /// Every request of a signed-in browser asks the caller's TenantGrain (without metering) whether the session may
    /// go on: a suspended or deleted tenant or a disabled user ends it at once, like a refused API call; and a revoked
    /// session (its refresh token) ends within <see cref="UiSessionCheck.IntervalKey"/>.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal is not { } principal || await EndedAsync(context.HttpContext.RequestServices, principal) is not { } failure)
        {
            return;
        }

        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieScheme);
        context.HttpContext.Items[RefusalItem] = failure;
        // Why, for the sign-in page: the request that ended the session is not always the one that shows it (a page may
        // navigate to /login twice at once, from an action refused and from its own re-check; the second has no session).
        context.HttpContext.Response.Cookies.Append(RefusalCookie, failure.ToString(), new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.HttpContext.Request.IsHttps, Path = "/login",
            MaxAge = TimeSpan.FromMinutes(1),
        });
    }

    public const string RefusalItem = "shohayota.ui.refusal";

    /// <summary>The short-lived cookie naming why the session just ended (a <see cref="Failure"/> name; only those that end a session are shown).</summary>
    public const string RefusalCookie = "sh_signed_out";

    /// <summary>Why the session ended, from the cookie set when it did (none once a sign-in succeeded).</summary>
    public static Failure? RefusalFrom(HttpRequest request) =>
        Enum.TryParse<Failure>(request.Cookies[RefusalCookie], out var failure) &&
        failure is Failure.TenantSuspended or Failure.TenantDeleted or Failure.UserDisabled or Failure.NotFound or Failure.InvalidToken
            ? failure
            : null;

    /// <summary>After a successful sign-in the old reason no longer applies.</summary>
    public static void ForgetRefusal(HttpResponse response) => response.Cookies.Delete(RefusalCookie, new CookieOptions { Path = "/login" });

    /// <summary>Why this session must end now, or null: the tenant's refusal, else <see cref="Failure.InvalidToken"/> for a revoked session.</summary>
    public static async Task<Failure?> EndedAsync(IServiceProvider services, ClaimsPrincipal principal)
    {
        if (Refusal(await CheckAsync(services, principal)) is { } refusal)
        {
            return refusal;
        }

        return await services.GetRequiredService<UiSessionCheck>().IsActiveAsync(principal) ? null : Failure.InvalidToken;
    }

    public static async Task<Admission> CheckAsync(IServiceProvider services, ClaimsPrincipal principal)
    {
        var caller = principal.ToCaller();
        var grains = services.GetRequiredService<IGrainFactory>();
        services.GetRequiredService<CallerSigner>().Enter(caller);
        try
        {
            return await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(caller.TenantId)).CheckAsync(caller.UserId, write: false);
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    /// <summary>The refusals that end a session (rate limits and quotas only refuse the one action).</summary>
    public static Failure? Refusal(Admission admission) =>
        !admission.Allowed && admission.Failure is Failure.TenantSuspended or Failure.TenantDeleted or Failure.UserDisabled or Failure.NotFound
            ? admission.Failure
            : null;
}
