using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Shohayota.Api.Auth;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Web;

/// <summary>What a UI action gives back: a value, or a failure with a message fit to show the user.</summary>
public sealed record UiResult<T>(T? Value, Failure Failure, string? Message)
{
    public bool Ok => Failure == Failure.None;

    public static UiResult<T> Success(T value) => new(value, Failure.None, null);

    public static UiResult<T> Fail(Failure failure, string? detail) => new(default, failure, UiMessages.For(failure, detail));
}

/// <summary>
/// The signed-in user of one circuit (browser tab). Every grain call of a page goes through <see cref="RunAsync{T}"/>:
/// it carries the user's <see cref="Caller"/> (from the validated cookie only) so the grain-call filter checks tenant
/// and role exactly as for the API, and it is admitted by the tenant's grain first (status, disabled user, rate limit).
/// A refusal that ends the session (tenant suspended or deleted, user disabled) sends the browser to the sign-in page.
/// </summary>
public sealed class UiSession(
    AuthenticationStateProvider authentication, IGrainFactory grains, CallerSigner signer, NavigationManager navigation, IHttpContextAccessor accessor,
    UiSessionCheck sessions)
{
    private readonly (string? Ip, string? UserAgent) _origin = (
        accessor.HttpContext?.Connection.RemoteIpAddress?.ToString(),
        accessor.HttpContext?.Request.Headers.UserAgent.ToString());

    private Caller? _caller;
    private System.Security.Claims.ClaimsPrincipal? _user;

    public IGrainFactory Grains => grains;

    public async Task<Caller> CallerAsync()
    {
        if (_caller is null)
        {
            var state = await authentication.GetAuthenticationStateAsync();
            _user = state.User;
            _caller = state.User.ToCaller();
        }

        return _caller;
    }

    public async Task<bool> IsInRoleAsync(string role) => (await CallerAsync()).Role == role;

    /// <summary>Runs <paramref name="work"/> as the signed-in user, after admission (<paramref name="write"/>: it changes data).</summary>
    public async Task<UiResult<T>> RunAsync<T>(Func<IGrainFactory, Caller, Task<T>> work, bool write = false)
    {
        var caller = await CallerAsync();
        if (!await sessions.IsActiveAsync(_user!))
        {
            // Revoked elsewhere (sign-out, password change, "sign out all sessions"): no more actions from this page.
            navigation.NavigateTo($"/login?refused={nameof(Failure.InvalidToken)}", forceLoad: true);
            return UiResult<T>.Fail(Failure.InvalidToken, null);
        }

        Caller.SetOrigin(_origin.Ip, _origin.UserAgent, null);
        signer.Enter(caller);
        try
        {
            var admission = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(caller.TenantId)).AdmitAsync(caller.UserId, write);
            if (!admission.Allowed)
            {
                if (UiAuth.Refusal(admission) is { } ending)
                {
                    navigation.NavigateTo($"/login?refused={Uri.EscapeDataString(ending.ToString())}", forceLoad: true);
                }

                return UiResult<T>.Fail(admission.Failure, admission.Detail);
            }

            signer.Enter(caller, admittedTenant: caller.TenantId);
            return UiResult<T>.Success(await work(grains, caller));
        }
        catch (TenantAccessDeniedException e)
        {
            return UiResult<T>.Fail(e.Failure, e.Message);
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    /// <summary>As <see cref="RunAsync{T}"/> for grain methods that answer with an <see cref="Outcome{T}"/>.</summary>
    public async Task<UiResult<T>> RunAsync<T>(Func<IGrainFactory, Caller, Task<Outcome<T>>> work, bool write = false)
    {
        var result = await RunAsync<Outcome<T>>(work, write);
        if (!result.Ok)
        {
            return new UiResult<T>(default, result.Failure, result.Message);
        }

        var outcome = result.Value!;
        return outcome.Succeeded ? UiResult<T>.Success(outcome.Value!) : UiResult<T>.Fail(outcome.Failure, outcome.Detail);
    }
}

/// <summary>Failures in words a user can act on.</summary>
public static class UiMessages
{
    public static string For(Failure failure, string? detail) => failure switch
    {
        Failure.NotFound => detail ?? "It does not exist (any more).",
        Failure.PreconditionFailed => "It was changed in the meantime by someone else. Reload to see their changes, then edit again.",
        Failure.TenantSuspended => "Your organization's account is suspended.",
        Failure.TenantCanceled => "Your organization's account is canceled: everything is read-only until it is reactivated.",
        Failure.TenantDeleted => "Your organization's account has been deleted.",
        Failure.UserDisabled => "Your user account is disabled.",
        Failure.Forbidden => "You may not do this.",
        Failure.RateLimited => "Too many requests; wait a moment and try again.",
        Failure.InvalidToken => "Your session has ended (signed out elsewhere, password changed, or all sessions signed out). Sign in again.",
        _ => detail ?? "Something went wrong on our side. Try again.",
    };
}
