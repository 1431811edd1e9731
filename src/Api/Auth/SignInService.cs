using System.Net;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;
using Shohayota.Grains.Users;

namespace Shohayota.Api.Auth;

/// <summary>
/// The one sign-in path (API and web UI): length limits, a dummy hash for unknown e-mails (same time either way),
/// the user grain's password check, lockout and tenant rules, and the audit entries; the limits checked before any hash
/// are <see cref="SignInThrottle"/>'s and the user grain's. Runs as the system caller. An e-mail with accounts in several
/// tenants tries them oldest first (<see cref="LoginAccounts"/>); <c>tenantId</c> picks one tenant's.
/// </summary>
public sealed class SignInService(IGrainFactory grains, CallerSigner signer, SignInMonitor monitor, SignInThrottle throttle)
{
    public const string Invalid = UserGrain.InvalidCredentialsDetail;

    public async Task<Outcome<SignIn>> SignInAsync(string email, string password, IPAddress? client, Guid? tenantId = null)
    {
        if (throttle.CheckAddress<SignIn>(client) is { } throttled)
        {
            monitor.Record(SignInResult.Throttled, client);
            return throttled;
        }

        if (password.Length > PasswordHashing.MaxLength || email.Length > Validation.MaxEmailLength)
        {
            monitor.Record(SignInResult.Failed, client);
            return Outcome<SignIn>.Fail(Failure.InvalidCredentials, Invalid);
        }

        signer.EnterSystem();
        var login = await LoginAccounts.FindAsync(grains, email, tenantId);
        if (login is not { } found)
        {
            if (await throttle.HashUnknownEmailAsync<SignIn>(email, password, client) is { } refused)
            {
                monitor.Record(SignInMonitor.Classify(refused), client);
                return refused;
            }

            // Tallied per client address and audited once per window (UnknownEmailAudit), not one row per attempt.
            monitor.Record(SignInResult.UnknownEmail, client);
            return Outcome<SignIn>.Fail(Failure.InvalidCredentials, Invalid);
        }

        var outcome = await found.SignInAsync(grains, password, SignInAddress.Normalize(client));
        monitor.Record(SignInMonitor.Classify(outcome), client);
        return outcome;
    }
}
