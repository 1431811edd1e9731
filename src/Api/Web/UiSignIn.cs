using Microsoft.AspNetCore.Authentication;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Web;

/// <summary>Cookie sign-in and sign-out through the same grains, password rules, lockout and audit as the API's.</summary>
public sealed class UiSignIn(IGrainFactory grains, CallerSigner signer, SignInService service, IHttpContextAccessor accessor)
{
    public async Task<(bool SignedIn, string? Error)> SignInAsync(string? email, string? password)
    {
        if (string.IsNullOrWhiteSpace(email) || string.IsNullOrEmpty(password))
        {
            return (false, "Enter your e-mail address and password.");
        }

        var http = accessor.HttpContext!;
        Caller.SetOrigin(http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.UserAgent.ToString(), http.TraceIdentifier);
        try
        {
            var outcome = await service.SignInAsync(email, password, http.Connection.RemoteIpAddress);
            if (!outcome.Succeeded)
            {
                Problems.SetRetryAfter(http.Response, outcome);
                if (outcome.Failure is Failure.RateLimited or Failure.ServiceUnavailable)
                {
                    http.Response.StatusCode = outcome.Failure == Failure.RateLimited ? StatusCodes.Status429TooManyRequests : StatusCodes.Status503ServiceUnavailable;
                }

                return (false, outcome.Failure switch
                {
                    Failure.InvalidCredentials =>
                        "Wrong e-mail address or password. After repeated failures, signing in to this account from your address is locked for a while; try again later.",
                    Failure.TenantSuspended => "Your organization's account is suspended. Contact your administrator or Shohayota support.",
                    Failure.TenantDeleted => "Your organization's account has been deleted.",
                    Failure.UserDisabled => "Your user account is disabled. Contact your organization's administrator.",
                    Failure.RateLimited => $"Too many sign-in attempts. Wait {UiWait(outcome.RetryAfter)} and try again.",
                    Failure.ServiceUnavailable => $"Sign-in is busy right now. Wait {UiWait(outcome.RetryAfter)} and try again.",
                    _ => outcome.Detail ?? "Sign-in failed.",
                });
            }

            await http.SignInAsync(UiAuth.CookieScheme, UiAuth.Principal(outcome.Value!), new AuthenticationProperties { IsPersistent = false });
            UiAuth.ForgetRefusal(http.Response);
            return (true, null);
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    /// <summary>
    /// The signed-in user changes their password (the API's rules and grain): every session of the user ends, this
    /// browser's cookie is replaced by one for the new session. Null on success, else the field and message to show.
    /// </summary>
    public async Task<(string Field, string Message)?> ChangePasswordAsync(string? currentPassword, string? newPassword, string? repeated)
    {
        var http = accessor.HttpContext!;
        var caller = http.User.ToCaller();
        if (string.IsNullOrEmpty(currentPassword))
        {
            return ("currentPassword", "Enter your current password.");
        }

        if (PasswordHashing.Validate(newPassword, caller.Email) is { } weak)
        {
            return ("newPassword", weak);
        }

        if (newPassword != repeated)
        {
            return ("repeatPassword", "The two new passwords differ.");
        }

        Caller.SetOrigin(http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.UserAgent.ToString(), http.TraceIdentifier);
        signer.Enter(caller);
        Outcome<SignIn> outcome;
        try
        {
            outcome = await grains.GetGrain<IUserGrain>(GrainKeys.User(caller.TenantId, caller.UserId)).ChangePasswordAsync(currentPassword, newPassword!);
        }
        catch (TenantAccessDeniedException e)
        {
            return ("currentPassword", UiMessages.For(e.Failure, e.Message));
        }
        finally
        {
            RequestContext.Clear();
        }

        if (!outcome.Succeeded)
        {
            return outcome.Failure switch
            {
                Failure.InvalidCredentials => ("currentPassword", "The current password is wrong."),
                Failure.Validation => ("newPassword", outcome.Detail!),
                _ => ("currentPassword", UiMessages.For(outcome.Failure, outcome.Detail)),
            };
        }

        await http.SignInAsync(UiAuth.CookieScheme, UiAuth.Principal(outcome.Value!), new AuthenticationProperties { IsPersistent = false });
        UiAuth.ForgetRefusal(http.Response);
        return null;
    }

    /// <summary>"Sign out all my sessions": revokes every refresh-token family of the user (this browser's too) and ends the cookie.</summary>
    public async Task SignOutEverywhereAsync()
    {
        var http = accessor.HttpContext!;
        var caller = http.User.ToCaller();
        Caller.SetOrigin(http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.UserAgent.ToString(), http.TraceIdentifier);
        signer.Enter(caller);
        try
        {
            await grains.GetGrain<IUserGrain>(GrainKeys.User(caller.TenantId, caller.UserId)).RevokeSessionsAsync();
        }
        finally
        {
            RequestContext.Clear();
        }

        await http.SignOutAsync(UiAuth.CookieScheme);
    }

    private static string UiWait(TimeSpan? wait) => Math.Max(1, (int)Math.Ceiling((wait ?? TimeSpan.FromSeconds(1)).TotalSeconds)) switch
    {
        1 => "a second",
        var seconds and < 120 => $"{seconds} seconds",
        var seconds => $"{(seconds + 59) / 60} minutes",
    };

    /// <summary>Ends the cookie session and revokes the refresh-token family behind it.</summary>
    public async Task SignOutAsync()
    {
        var http = accessor.HttpContext!;
        var token = http.User.FindFirst(UiAuth.SessionClaim)?.Value;
        if (RefreshTokenFormat.TryParse(token, out var tenant, out var user, out var tokenId, out var secret))
        {
            signer.EnterSystem();
            try
            {
                await grains.GetGrain<IUserGrain>(GrainKeys.User(tenant, user)).RevokeAsync(tokenId, secret);
            }
            finally
            {
                RequestContext.Clear();
            }
        }

        await http.SignOutAsync(UiAuth.CookieScheme);
    }
}
