using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Api.Auth;

/// <summary>
/// The accounts one e-mail signs in as: e-mails are unique per tenant, so an address may have an account in several
/// tenants (at most <see cref="LoginAccount.MaxPerEmail"/> are tried, oldest first). One account signs in as before.
/// With several, every password check runs first without side effects and only the account that accepts the password
/// is signed in to (the oldest, when several do): another tenant's account sharing the address records nothing of a
/// successful sign-in elsewhere. When none accepts, each records the failure (lockout, audit) as a wrong password.
/// </summary>
public sealed class LoginAccounts
{
    private readonly IReadOnlyList<LoginAccount> _accounts;

    private LoginAccounts(IReadOnlyList<LoginAccount> accounts) => _accounts = accounts;

    /// <summary>The e-mail's accounts (only <paramref name="tenantId"/>'s, when given), or null for an unknown e-mail.</summary>
    public static async Task<LoginAccounts?> FindAsync(IGrainFactory grains, string email, Guid? tenantId)
    {
        var accounts = await grains.GetGrain<IUserDirectoryGrain>("users").FindLoginsAsync(email, tenantId);
        return accounts.Count == 0 ? null : new LoginAccounts(accounts);
    }

    public async Task<Outcome<SignIn>> SignInAsync(IGrainFactory grains, string password)
    {
        if (_accounts.Count == 1)
        {
            return await User(grains, _accounts[0]).SignInAsync(password);
        }

        Outcome<SignIn>? refused = null;
        foreach (var account in _accounts)
        {
            if (!await User(grains, account).CheckPasswordAsync(password))
            {
                continue;
            }

            var outcome = await User(grains, account).SignInAsync(password);
            if (outcome.Succeeded)
            {
                return outcome;
            }

            // The password was right but this account may not sign in (disabled, tenant suspended, …): try the next one.
            refused ??= outcome.Failure == Failure.InvalidCredentials ? null : outcome;
        }

        if (refused is not null)
        {
            return refused;
        }

        foreach (var account in _accounts)
        {
            await User(grains, account).RecordFailedSignInAsync();
        }

        return Outcome<SignIn>.Fail(Failure.InvalidCredentials, SignInService.Invalid);
    }

    private static IUserGrain User(IGrainFactory grains, LoginAccount account) => grains.GetGrain<IUserGrain>(GrainKeys.User(account.TenantId, account.UserId));
}
