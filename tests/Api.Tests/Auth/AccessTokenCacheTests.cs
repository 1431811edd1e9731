using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shohayota.Api.Auth;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Users;

namespace Shohayota.Api.Tests.Auth;

/// <summary>The node's cache of validated access tokens: a hit keeps every check a full validation makes.</summary>
public sealed class AccessTokenCacheTests(TokenCacheHost fixture) : IClassFixture<TokenCacheHost>
{
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task ACachedTokenIsRefusedOnceItExpires()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        using var fresh = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", token);
        using var again = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", token);
        _clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        using var lastSecond = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", token);
        _clock.Advance(TimeSpan.FromSeconds(1));

        using var expired = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", token);

        fresh.StatusCode.Should().Be(HttpStatusCode.OK);
        again.StatusCode.Should().Be(HttpStatusCode.OK);
        lastSecond.StatusCode.Should().Be(HttpStatusCode.OK);
        expired.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ATokenWithAnotherSignatureIsRefusedWhileTheSameClaimsAreCached()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        using var cached = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", token);
        var signedPart = token[..token.LastIndexOf('.')];
        var forged = signedPart + "." + Base64UrlEncoder.Encode(
            HMACSHA256.HashData(Encoding.UTF8.GetBytes("not-the-signing-key-not-the-signing-key-0123"), Encoding.ASCII.GetBytes(signedPart)));

        using var refused = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", forged);
        using var stillValid = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", token);

        cached.StatusCode.Should().Be(HttpStatusCode.OK);
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        stillValid.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheCacheHoldsNoMoreTokensThanItsSize()
    {
        var tenant = await _host.ProvisionTenantAsync();
        using var me = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", tenant.Admin.AccessToken);
        var userId = (await me.JsonAsync())["id"]!.GetValue<Guid>();
        var cache = _host.Services.GetRequiredService<AccessTokenCache>();
        var statuses = new List<HttpStatusCode>();
        var sizes = new List<int>();

        for (var i = 0; i < TokenCacheHost.CacheSize + 3; i++)
        {
            using var response = await _host.SendAsync(HttpMethod.Get, "/api/auth/me", Token(tenant.Id, userId, tenant.AdminEmail));
            statuses.Add(response.StatusCode);
            sizes.Add(cache.Count);
        }

        statuses.Should().AllBeEquivalentTo(HttpStatusCode.OK);
        sizes.Should().OnlyContain(size => size <= TokenCacheHost.CacheSize);
    }

    [Fact]
    public async Task AFullCacheKeepsTheTokensItHoldsAndValidatesANewOneInFull()
    {
        var cache = new AccessTokenCache(Options.Create(new AuthOptions { TokenCacheSize = 2 }), _clock);
        var parameters = Parameters();
        var tokens = Enumerable.Range(0, 3).Select(_ => Token(Guid.NewGuid(), Guid.NewGuid(), "someone@tenant.test")).ToList();
        var first = await cache.ValidateTokenAsync(tokens[0], parameters);
        var second = await cache.ValidateTokenAsync(tokens[1], parameters);

        var third = await cache.ValidateTokenAsync(tokens[2], parameters);
        var firstAgain = await cache.ValidateTokenAsync(tokens[0], parameters);
        var thirdAgain = await cache.ValidateTokenAsync(tokens[2], parameters);

        new[] { first, second, third, firstAgain, thirdAgain }.Should().OnlyContain(r => r.IsValid);
        cache.Count.Should().Be(2, "the cache stays full instead of emptying itself for the new token");
        firstAgain.ClaimsIdentity.Should().BeSameAs(first.ClaimsIdentity, "a token it held is still a hit");
        thirdAgain.ClaimsIdentity.Should().NotBeSameAs(third.ClaimsIdentity, "the token that found no room is validated in full each time");
    }

    [Fact]
    public async Task ACachedTokenKeepsItsClaimsIdAndLifetimeButNotTheParsedToken()
    {
        var cache = new AccessTokenCache(Options.Create(new AuthOptions { TokenCacheSize = 2 }), _clock);
        var token = Token(Guid.NewGuid(), Guid.NewGuid(), "someone@tenant.test");
        var parsed = new JsonWebToken(token);

        var first = await cache.ValidateTokenAsync(token, Parameters());
        var hit = await cache.ValidateTokenAsync(token, Parameters());

        hit.IsValid.Should().BeTrue();
        hit.ClaimsIdentity.Should().BeSameAs(first.ClaimsIdentity, "the second validation is a hit");
        hit.ClaimsIdentity.Claims.Select(c => (c.Type, c.Value)).Should().BeEquivalentTo(parsed.Claims.Select(c => (c.Type, c.Value)));
        hit.SecurityToken.Should().NotBeOfType<JsonWebToken>("the parsed token (header, payload, claim dictionaries) is not kept for the token's lifetime");
        (hit.SecurityToken.Id, hit.SecurityToken.Issuer, hit.SecurityToken.ValidFrom, hit.SecurityToken.ValidTo)
            .Should().Be((parsed.Id, parsed.Issuer, parsed.ValidFrom, parsed.ValidTo));
        hit.ClaimsIdentity.Should().BeOfType<TokenIdentity>();
    }

    private TokenValidationParameters Parameters() => new()
    {
        ValidIssuer = "shohayota",
        ValidAudience = "shohayota-api",
        IssuerSigningKey = new SymmetricSecurityKey(Convert.FromBase64String(ApiHost.SigningKey)),
        LifetimeValidator = (notBefore, expires, _, _) => expires > _clock.GetUtcNow().UtcDateTime,
    };

    /// <summary>A token as the API issues it (HS256 with the host's key), on the host's clock, with a fresh id.</summary>
    private string Token(Guid tenantId, Guid userId, string email)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "shohayota",
            Audience = "shohayota-api",
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            TokenType = "at+jwt",
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = userId.ToString("D"),
                [JwtRegisteredClaimNames.Email] = email,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
                ["role"] = "tenant_admin",
                ["tid"] = tenantId.ToString("D"),
            },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(ApiHost.SigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }
}

/// <summary>A host on a clock the tests move, with a token cache of <see cref="CacheSize"/> entries.</summary>
public sealed class TokenCacheHost : IAsyncLifetime
{
    public const int CacheSize = 4;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Host = await ApiHost.StartAsync(services: s => s.AddSingleton<TimeProvider>(Clock), settings: [$"--Shohayota:Auth:TokenCacheSize={CacheSize}"]);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
