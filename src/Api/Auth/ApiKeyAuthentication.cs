using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Shohayota.Api.Errors;
using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

/// <summary>Tenant API keys on this node (section <c>Shohayota:ApiKeys</c>).</summary>
public sealed class ApiKeyOptions
{
    public const string SectionName = "Shohayota:ApiKeys";

    /// <summary>
    /// The longest this node admits a key from what it last looked up: the bound on how long a key revoked through another
    /// node still works here (plus one lookup). A key in use is looked up again in the background from half of this on.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:04")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The most keys (and unknown secrets) this node remembers.</summary>
    [Range(1, 10_000_000)]
    public int CacheSize { get; set; } = 100_000;

    /// <summary>The most lookups this node runs at once (a flood of made-up keys waits here, not in the database).</summary>
    [Range(1, 1024)]
    public int MaxConcurrentLookups { get; set; } = 8;
}

/// <summary>
/// A tenant API key's identity, shared by the requests that present the same key while this node holds it: the caller
/// (the key's tenant, id and role; <see cref="Caller.ApiKey"/> set) and the key's state when it was looked up.
/// </summary>
public sealed class ApiKeyIdentity : ClaimsIdentity
{
    public ApiKeyIdentity(ApiKeyMatch match)
        : base(
            [
                new Claim(JwtRegisteredClaimNames.Sub, match.Id.ToString("D")),
                new Claim(TokenIssuer.RoleClaim, match.Role),
                new Claim(TokenIssuer.TenantClaim, match.TenantId.ToString("D")),
                new Claim(JwtRegisteredClaimNames.Name, match.Name),
            ],
            ApiKeyAuthenticationHandler.SchemeName, JwtRegisteredClaimNames.Name, TokenIssuer.RoleClaim)
    {
        Match = match;
        Caller = new Caller(match.TenantId, match.Id, match.Role, Caller.ApiKeyActor(match.Name), ApiKey: true);
    }

    public ApiKeyMatch Match { get; }

    public Caller Caller { get; }
}

/// <summary>
/// This node's view of the API keys presented to it, keyed by the secret's SHA-256 (the secret itself is not kept): a key
/// is looked up through <see cref="IApiKeyDirectoryGrain"/> (one indexed read) and admitted from memory for at most
/// <see cref="ApiKeyOptions.MaxAge"/> (<see cref="RecentLookups{TKey, TValue}"/>). Unknown secrets are remembered too
/// (a client retrying a revoked key costs no lookup per request).
/// </summary>
public sealed class ApiKeyCache : IDisposable
{
    private readonly RecentLookups<SecretHash, ApiKeyIdentity?> _keys;

    public ApiKeyCache(IGrainFactory grains, CallerSigner signer, IOptions<ApiKeyOptions> options)
    {
        _keys = new(async hash =>
        {
            signer.EnterSystem();
            var match = await grains.GetGrain<IApiKeyDirectoryGrain>("api-keys").FindAsync(hash.ToArray());
            return match is null ? null : new ApiKeyIdentity(match);
        }, options.Value.MaxAge, options.Value.CacheSize, options.Value.MaxConcurrentLookups);
    }

    /// <summary>Lookups made (for tests: a busy key does not cost one per request).</summary>
    public long Lookups => _keys.Lookups;

    /// <summary>The key <paramref name="secret"/> (well-formed) belongs to, as last looked up, or null for none.</summary>
    public ValueTask<ApiKeyIdentity?> FindAsync(ReadOnlySpan<char> secret) => _keys.GetAsync(SecretHash.Of(secret));

    /// <summary>Forgets a key revoked through this node at once (other nodes notice within <see cref="ApiKeyOptions.MaxAge"/>).</summary>
    public void Forget(Guid keyId) => _keys.Forget((_, identity) => identity?.Match.Id == keyId);

    public void Dispose() => _keys.Dispose();

    private readonly record struct SecretHash(ulong A, ulong B, ulong C, ulong D)
    {
        public static SecretHash Of(ReadOnlySpan<char> secret)
        {
            Span<byte> hash = stackalloc byte[32];
            ApiKeySecret.Hash(secret, hash);
            return new SecretHash(
                BinaryPrimitives.ReadUInt64LittleEndian(hash), BinaryPrimitives.ReadUInt64LittleEndian(hash[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(hash[16..]), BinaryPrimitives.ReadUInt64LittleEndian(hash[24..]));
        }

        public byte[] ToArray()
        {
            var bytes = new byte[32];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, A);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), B);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), C);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), D);
            return bytes;
        }
    }
}

/// <summary>
/// Authenticates <c>/api</c> requests that present a tenant API key: <c>Authorization: Bearer shy_…</c>, or
/// <c>X-Api-Key: shy_…</c> when there is no Authorization header. The caller is the key (its tenant and role); a revoked,
/// expired or unknown key is 401, like a bad token. What the key's role may not do is 403, and so is what no API key may
/// do (the caller's own account routes, managing API keys).
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyCache cache,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    private static readonly object FailureKey = new();

    /// <summary>Whether the request presents an API key (the scheme selector's test; the header's content is checked later).</summary>
    public static bool Presents(HttpRequest request)
    {
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            return authorization.ToString().StartsWith("Bearer " + ApiKeySecret.Scheme, StringComparison.Ordinal);
        }

        return request.Headers.ContainsKey(HeaderName);
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Read in place: the hot path allocates nothing for the secret (it is hashed from the header's own characters).
        var presented = (Request.Headers.Authorization.Count > 0
            ? Request.Headers.Authorization.ToString().AsSpan("Bearer ".Length)
            : Request.Headers[HeaderName].ToString().AsSpan()).Trim();
        if (!ApiKeySecret.IsWellFormed(presented))
        {
            return Refuse("This is not a valid API key.");
        }

        var identity = await cache.FindAsync(presented);
        if (identity is null)
        {
            return Refuse("This API key is not valid.");
        }

        if (identity.Match.Revoked)
        {
            return Refuse("This API key was revoked.");
        }

        if (identity.Match.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return Refuse("This API key has expired.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private AuthenticateResult Refuse(string detail)
    {
        Context.Items[FailureKey] = detail;
        return AuthenticateResult.Fail(detail);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Problems.Create(401, "unauthorized", "Unauthorized",
            Context.Items[FailureKey] as string ?? "A valid API key or bearer access token is required.").ExecuteAsync(Context);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.Create(403, "forbidden", "Forbidden", "This API key's role may not use this endpoint, or no API key may (sign in as a person).")
            .ExecuteAsync(Context);
}
