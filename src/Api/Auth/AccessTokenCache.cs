using System.Collections.Concurrent;
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
/// <c>Shohayota:Auth:TokenCacheSize</c> (0: no cache): when full, expired entries are dropped, and if that is not enough,
/// all of them.
/// </summary>
public sealed class AccessTokenCache : TokenHandler
{
    private readonly JsonWebTokenHandler _inner = new() { MapInboundClaims = false };
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly Lock _sweep = new();
    private int _count;

    public AccessTokenCache(IOptions<AuthOptions> options, TimeProvider time)
    {
        _time = time;
        _capacity = options.Value.TokenCacheSize;
    }

    /// <summary>Tokens held now (for tests and diagnostics).</summary>
    public int Count => _entries.Count;

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (_capacity > 0 && _entries.TryGetValue(token, out var cached))
        {
            if (cached.IsValidAt(now))
            {
                return cached.Result;
            }

            if (_entries.TryRemove(new KeyValuePair<string, Entry>(token, cached)))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        var result = await _inner.ValidateTokenAsync(token, validationParameters);
        if (!result.IsValid || _capacity == 0 || result.SecurityToken is not JsonWebToken jwt || result.ClaimsIdentity is null)
        {
            return result;
        }

        var identity = new TokenIdentity(result.ClaimsIdentity);
        var entry = new Entry(
            new TokenValidationResult { IsValid = true, ClaimsIdentity = identity, SecurityToken = jwt },
            jwt.ValidTo,
            jwt.ValidFrom);
        Add(token, entry, now);
        return entry.Result;
    }

    public override SecurityToken ReadToken(string token) => _inner.ReadToken(token);

    private void Add(string token, Entry entry, DateTime now)
    {
        if (Volatile.Read(ref _count) >= _capacity)
        {
            lock (_sweep)
            {
                if (_entries.Count >= _capacity)
                {
                    foreach (var (key, value) in _entries)
                    {
                        if (!value.IsValidAt(now))
                        {
                            _entries.TryRemove(new KeyValuePair<string, Entry>(key, value));
                        }
                    }

                    if (_entries.Count >= _capacity)
                    {
                        _entries.Clear();
                    }
                }

                Volatile.Write(ref _count, _entries.Count);
            }
        }

        if (_entries.TryAdd(token, entry))
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>
    /// The same rule as the full validation's lifetime check: expiry after now, not-before at or before now (a token
    /// without one reads as <see cref="DateTime.MinValue"/>).
    /// </summary>
    private sealed record Entry(TokenValidationResult Result, DateTime Expires, DateTime NotBefore)
    {
        public bool IsValidAt(DateTime now) => Expires > now && NotBefore <= now;
    }
}

/// <summary>
/// A validated token's identity, shared by the requests that carry the same token (nothing mutates it), with the
/// caller parsed from its claims once instead of per request.
/// </summary>
public sealed class TokenIdentity : CaseSensitiveClaimsIdentity
{
    private Caller? _caller;

    public TokenIdentity(ClaimsIdentity validated)
        : base(validated)
    {
        TenantClaim = AuthExtensions.ParseTenantClaim(this);
    }

    /// <summary>Parsed on first use (a benign race: the value is immutable and the same either way).</summary>
    public Caller Caller => _caller ??= AuthExtensions.ParseCaller(this);

    /// <summary>The token's tenant claim, if it has a valid one (a super-admin's token has none).</summary>
    public Guid? TenantClaim { get; }

    public override ClaimsIdentity Clone() => new TokenIdentity(this);
}
