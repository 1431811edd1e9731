using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Users;

[GenerateSerializer, Immutable, Alias("UserDetails")]
public sealed record UserDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] string Email,
    [property: Id(3)] string Name,
    [property: Id(4)] string Role,
    [property: Id(5)] bool Disabled,
    [property: Id(6)] DateTimeOffset CreatedAt);

[GenerateSerializer, Immutable, Alias("CreateUserRequest")]
public sealed record CreateUserRequest(
    [property: Id(0)] string Email,
    [property: Id(1)] string Name,
    [property: Id(2)] string Password,
    [property: Id(3)] string Role);

/// <summary>One account an e-mail may sign in as.</summary>
[GenerateSerializer, Immutable, Alias("LoginAccount")]
public sealed record LoginAccount(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] Guid UserId)
{
    /// <summary>The most accounts one e-mail signs in to without a tenant (the cap of <c>auth_find_login</c>).</summary>
    public const int MaxPerEmail = 5;
}

/// <summary>A refresh token as handed to the client: tenant, user and token ids plus a secret.</summary>
[GenerateSerializer, Immutable, Alias("IssuedRefreshToken")]
public sealed record IssuedRefreshToken(
    [property: Id(0)] string Token,
    [property: Id(1)] DateTimeOffset ExpiresAt);

[GenerateSerializer, Immutable, Alias("SignIn")]
public sealed record SignIn(
    [property: Id(0)] UserDetails User,
    [property: Id(1)] IssuedRefreshToken RefreshToken);

public static class RefreshTokenFormat
{
    public static string Format(Guid tenantId, Guid userId, Guid tokenId, string secret) =>
        $"{tenantId:N}.{userId:N}.{tokenId:N}.{secret}";

    public static bool TryParse(string? token, out Guid tenantId, out Guid userId, out Guid tokenId, out string secret)
    {
        tenantId = userId = tokenId = Guid.Empty;
        secret = "";
        var parts = (token ?? "").Split('.');
        if (parts.Length != 4 || parts[3].Length is < 16 or > 128 ||
            !Guid.TryParseExact(parts[0], "N", out tenantId) ||
            !Guid.TryParseExact(parts[1], "N", out userId) ||
            !Guid.TryParseExact(parts[2], "N", out tokenId))
        {
            return false;
        }

        secret = parts[3];
        return true;
    }
}

/// <summary>One per user (<see cref="GrainKeys.User"/>): the single writer of its row.</summary>
[Alias("IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    [Alias("Get"), ReadOnly]
    Task<UserDetails?> GetAsync();

    [Alias("Create")]
    Task<Outcome<UserDetails>> CreateAsync(CreateUserRequest request);

    /// <summary>
    /// Checks the password, after the per-(account, address) lockout, delay and account ceiling (no hash when they
    /// refuse); on success issues a refresh token (new family). <paramref name="address"/> is the client address the
    /// front end saw (after trusted proxies), the only address the limits count.
    /// </summary>
    [Alias("SignIn")]
    Task<Outcome<SignIn>> SignInAsync(string password, string? address);

    /// <summary>
    /// Whether the password is this account's (true/false), or the refusal of the address's lockout or delay for this
    /// account (no hash) or of a full hash gate; changes nothing, audits nothing (sign-in checks every account of a shared
    /// e-mail this way before it signs in to one). System caller only.
    /// </summary>
    [Alias("CheckPassword")]
    Task<Outcome<bool>> CheckPasswordAsync(string password, string? address);

    /// <summary>
    /// Counts a failed sign-in from <paramref name="address"/> (delay, lockout, audit) as a wrong password would, without
    /// hashing; nothing when the address is already refused for this account. System caller only.
    /// </summary>
    [Alias("RecordFailedSignIn")]
    Task RecordFailedSignInAsync(string? address);

    /// <summary>
    /// Counts a password this account rejected in a sign-in that another account of the same e-mail accepted, as a failure
    /// from <paramref name="address"/> (delay, lockout, the account's ceiling) without a <c>auth.login_failed</c> entry
    /// (a lockout is audited): an account an admin of another tenant creates with this e-mail cannot test passwords
    /// against this one for free. System caller only.
    /// </summary>
    [Alias("RecordRejectedPassword")]
    Task RecordRejectedPasswordAsync(string? address);

    /// <summary>Rotates a refresh token; reuse of a consumed one revokes its whole family.</summary>
    [Alias("Refresh")]
    Task<Outcome<SignIn>> RefreshAsync(Guid tokenId, string secret);

    [Alias("Revoke")]
    Task RevokeAsync(Guid tokenId, string secret);

    [Alias("SetDisabled")]
    Task<Outcome<UserDetails>> SetDisabledAsync(bool disabled);

    /// <summary>
    /// The signed-in user changes their own password (the current one checked like a sign-in): every refresh-token family
    /// of the user is revoked with the change, and a new one is issued so the caller stays signed in.
    /// </summary>
    [Alias("ChangePassword")]
    Task<Outcome<SignIn>> ChangePasswordAsync(string currentPassword, string newPassword);

    /// <summary>Revokes every refresh-token family of the user ("sign out all sessions"): the user, their tenant's admins, super-admins.</summary>
    [Alias("RevokeSessions")]
    Task<Outcome<UserDetails>> RevokeSessionsAsync();

    /// <summary>Drops the activation (its tenant is being purged); only the TenantGrain calls it.</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}

/// <summary>Tenant-wide user reads (lists) and the e-mail lookup of sign-in; stateless.</summary>
[Alias("IUserDirectoryGrain")]
public interface IUserDirectoryGrain : IGrainWithStringKey
{
    [Alias("List"), ReadOnly]
    Task<IReadOnlyList<UserDetails>> ListAsync(Guid tenantId);

    /// <summary>
    /// The accounts an e-mail signs in as (e-mails are unique per tenant), oldest first, at most
    /// <see cref="LoginAccount.MaxPerEmail"/>; only the given tenant's when <paramref name="tenantId"/> is set.
    /// </summary>
    [Alias("FindLogins"), ReadOnly]
    Task<IReadOnlyList<LoginAccount>> FindLoginsAsync(string email, Guid? tenantId);
}
