using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;

namespace Shohayota.Api.Web;

/// <summary>
/// An open page (a Blazor circuit) re-checks its user every minute, as the cookie is checked on every request: once
/// the tenant is suspended or deleted, the user disabled or the session revoked, the page falls back to the sign-in page
/// even if the user does nothing. (Every action is admitted anyway; this covers the idle page still showing data.)
/// </summary>
public sealed class UiRevalidation(ILoggerFactory loggers, IServiceScopeFactory scopes, IConfiguration configuration)
    : RevalidatingServerAuthenticationStateProvider(loggers)
{
    public const string IntervalKey = "Shohayota:Ui:RevalidationInterval";

    private readonly TimeSpan _interval = configuration.GetValue(IntervalKey, TimeSpan.FromMinutes(1));

    protected override TimeSpan RevalidationInterval => _interval;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        var user = authenticationState.User;
        if (user.Identity?.IsAuthenticated != true || user.Identity.AuthenticationType != UiAuth.CookieScheme)
        {
            return user.Identity?.IsAuthenticated != true;
        }

        await using var scope = scopes.CreateAsyncScope();
        return await UiAuth.EndedAsync(scope.ServiceProvider, user) is null;
    }
}
