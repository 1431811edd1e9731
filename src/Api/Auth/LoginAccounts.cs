using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Api.Auth;

/// <summary>
/// The accounts one e-mail signs in as: e-mails are unique per tenant, so an address may have an account in several
/// tenants (at most <see cref="LoginAccount.MaxPerEmail"/> are tried, oldest first). One account signs in as before.
/// With several, every password check runs first without side effects and only the account that accepts the password
/// is signed in to (the oldest, when several do). An account that rejected it counts the rejection as a failure from the
/// client's address (delay, lockout, ceiling; audited only when it locks the address out), before any token is issued:
/// otherwise an admin of any tenant could create an account with a victim's e-mail and test guesses against the
/// victim's account for free, since each guess would succeed as the planted account. When none accepts, each records
/// the failure (lockout, audit) as a wrong password.
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

    /// <summary>
    /// <paramref name="address"/> is the normalized client address the per-(account, address) limits count. An account
    /// whose limits refuse the address is skipped without a hash; when nothing signs in, the first such refusal (429 or
    /// 503 with its wait) is the answer, else the wrong password's 401.
    /// </summary>
    public async Task<Outcome<SignIn>> SignInAsync(IGrainFactory grains, string password, string? address)
    {
        if (_accounts.Count == 1)
        {
            return await User(grains, _accounts[0]).SignInAsync(password, address);
        }

        Outcome<SignIn>? refused = null;
        Outcome<SignIn>? limited = null;
        var wrong = new List<LoginAccount>();
        var counted = 0;
        foreach (var account in _accounts)
        {
            var check = await User(grains, account).CheckPasswordAsync(password, address);
            if (!check.Succeeded)
            {
                // A lockout looks like a wrong password (401); a delay or a full hash gate says when to try again.
                limited ??= check.Failure == Failure.InvalidCredentials ? null : check.As<SignIn>();
                continue;
            }

            if (!check.Value)
            {
                wrong.Add(account);
                continue;
            }

            // This account accepts the password: the older ones that rejected it count it now, before any token is issued.
            await CountRejectionsAsync();

            var outcome = await User(grains, account).SignInAsync(password, address);
            if (outcome.Succeeded)
            {
                return outcome;
            }

            // The password was right but this account may not sign in (disabled, tenant suspended, …): try the next one.
            refused ??= outcome.Failure == Failure.InvalidCredentials ? null : outcome;
        }

        if (refused is not null)
        {
            // Some account accepted the password (and may not sign in): the ones that rejected it after it count it too.
            await CountRejectionsAsync();

            return refused;
        }

        // No account signed in or refused: each that rejected it (and was not counted above) records a wrong password.
        foreach (var account in wrong.Skip(counted))
        {
            await User(grains, account).RecordFailedSignInAsync(address);
        }

        return limited ?? Outcome<SignIn>.Fail(Failure.InvalidCredentials, SignInService.Invalid);

        async Task CountRejectionsAsync()
        {
            for (; counted < wrong.Count; counted++)
            {
                await User(grains, wrong[counted]).RecordRejectedPasswordAsync(address);
            }
        }
    }

    private static IUserGrain User(IGrainFactory grains, LoginAccount account) => grains.GetGrain<IUserGrain>(GrainKeys.User(account.TenantId, account.UserId));
}
