using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Users;

namespace Shohayota.Api.Auth;

/// <summary>
/// The bearer token handler of the API: validates a token in full (signature, issuer, audience, type, lifetime) the first
/// time this node sees it, then keeps the validated identity, keyed by the exact token string, until the token's own
/// expiry. A hit still checks the lifetime on the same clock, with the same rule as the full validation; a token that
/// differs in any character (another signature for the same claims, say) is a miss and is validated in full. Bounded by
/// <c>Shohayota:Auth:TokenCacheSize</c> (0: no cache) in a <see cref="BoundedCache{TKey, TValue}"/>: when full, expired
/// entries are dropped (at most once per <see cref="SweepInterval"/>), and a token that still finds no room is validated
/// in full on each request while the cached ones stay.
/// </summary>
public sealed class AccessTokenCache : TokenHandler
{
    /// <summary>A full cache looks for expired tokens at most this often.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly JsonWebTokenHandler _inner = new() { MapInboundClaims = false };
    private readonly BoundedCache<string, TokenValidationResult> _entries;
    private readonly TimeProvider _time;

    public AccessTokenCache(IOptions<AuthOptions> options, TimeProvider time)
    {
        _time = time;
        _entries = new(options.Value.TokenCacheSize, static (entry, now) => ((ValidatedToken)entry.SecurityToken).IsValidAt(now.UtcDateTime), SweepInterval);
    }

    /// <summary>Tokens held now (for tests and diagnostics).</summary>
    public int Count => _entries.Count;

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = _time.GetUtcNow();
        if (_entries.TryGet(token, now, out var cached))
        {
            return cached;
        }

        var result = await _inner.ValidateTokenAsync(token, validationParameters);
        if (!result.IsValid || _entries.Capacity <= 0 || result.SecurityToken is not JsonWebToken jwt || result.ClaimsIdentity is null)
        {
            return result;
        }

        // What a hit needs and no more: the identity's claims (type, value, issuer) and the token's id and lifetime. The
        // parsed token (its header, payload and claim dictionaries) stayed in memory as long as the token did, about
        // 3 KB a token: with one token per active tenant, bench S10 counted it in each tenant's memory.
        var entry = new TokenValidationResult
        {
            IsValid = true,
            ClaimsIdentity = new TokenIdentity(result.ClaimsIdentity),
            SecurityToken = new ValidatedToken(jwt.Id, jwt.Issuer, jwt.ValidFrom, jwt.ValidTo),
        };
        _entries.Set(token, entry, now);
        return entry;
    }

    public override SecurityToken ReadToken(string token) => _inner.ReadToken(token);
}

/// <summary>
/// A cached token as the bearer handler reads it after validation (its lifetime for the authentication properties, its
/// id and issuer), without the parsed token itself.
/// </summary>
public sealed class ValidatedToken(string id, string issuer, DateTime validFrom, DateTime validTo) : SecurityToken
{
    public override string Id { get; } = id;

    public override string Issuer { get; } = issuer;

    public override SecurityKey? SecurityKey => null;

    public override SecurityKey? SigningKey { get; set; }

    public override DateTime ValidFrom { get; } = validFrom;

    public override DateTime ValidTo { get; } = validTo;

    public override string UnsafeToString() => $"validated token {Id}";

    /// <summary>
    /// The same rule as the full validation's lifetime check: expiry after now, not-before at or before now (a token
    /// without one reads as <see cref="DateTime.MinValue"/>).
    /// </summary>
    public bool IsValidAt(DateTime now) => ValidTo > now && ValidFrom <= now;
}

/// <summary>
/// A validated token's identity, shared by the requests that carry the same token (nothing mutates it), with the
/// caller parsed from its claims once instead of per request.
/// </summary>
public sealed class TokenIdentity : CaseSensitiveClaimsIdentity
{
    private Caller? _caller;

    /// <summary>The validated identity's claims (type, value, value type, issuers) without their properties, which nothing reads.</summary>
    public TokenIdentity(ClaimsIdentity validated)
        : base(validated.Claims.Select(c => new Claim(c.Type, c.Value, c.ValueType, c.Issuer, c.OriginalIssuer)),
            validated.AuthenticationType, validated.NameClaimType, validated.RoleClaimType)
    {
        TenantClaim = AuthExtensions.ParseTenantClaim(this);
    }

    /// <summary>Parsed on first use (a benign race: the value is immutable and the same either way).</summary>
    public Caller Caller => _caller ??= AuthExtensions.ParseCaller(this);

    /// <summary>The token's tenant claim, if it has a valid one (a super-admin's token has none).</summary>
    public Guid? TenantClaim { get; }

    public override ClaimsIdentity Clone() => new TokenIdentity(this);
}
