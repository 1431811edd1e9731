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
    }

    public const string RefusalItem = "shohayota.ui.refusal";

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
