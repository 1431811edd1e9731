using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

/// <summary>Bearer tokens made by hand: one valid control, then each defect alone must give 401.</summary>
public sealed class AccessTokenTests
{
    private const string Issuer = "shohayota";
    private const string Audience = "shohayota-api";

    [Fact]
    public async Task AValidSelfMadeTokenIsAccepted()
    {
        var host = await ApiHost.SharedAsync();
        var admin = await ProvisionAdminAsync(host);

        using var response = await host.SendAsync(HttpMethod.Get, "/api/auth/me", Token(admin));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.JsonAsync())["id"]!.GetValue<Guid>().Should().Be(admin.UserId);
    }

    [Theory]
    [InlineData("alg none")]
    [InlineData("tampered payload")]
    [InlineData("wrong signing key")]
    [InlineData("expired by 1 s")]
    [InlineData("wrong issuer")]
    [InlineData("wrong audience")]
    [InlineData("wrong type")]
    [InlineData("no expiry")]
    [InlineData("refresh token")]
    public async Task ABadTokenIsRefusedWith401(string defect)
    {
        var host = await ApiHost.SharedAsync();
        var admin = await ProvisionAdminAsync(host);
        var now = DateTime.UtcNow;
        var token = defect switch
        {
            "alg none" => Token(admin, d => d.SigningCredentials = null),
            "tampered payload" => Tamper((await host.LoginAsync(admin.Email, TenantBody.Password)).AccessToken),
            "wrong signing key" => Token(admin, d => d.SigningCredentials = Credentials(Encoding.UTF8.GetBytes("another-key-another-key-another-key-0123456789"))),
            "expired by 1 s" => Token(admin, d => (d.IssuedAt, d.NotBefore, d.Expires) = (now.AddMinutes(-10), now.AddMinutes(-10), now.AddSeconds(-1))),
            "wrong issuer" => Token(admin, d => d.Issuer = "someone-else"),
            "wrong audience" => Token(admin, d => d.Audience = "another-api"),
            "wrong type" => Token(admin, d => d.TokenType = "JWT"),
            "no expiry" => Token(admin, d => d.Expires = null, setDefaultTimes: false),
            "refresh token" => (await host.LoginAsync(admin.Email, TenantBody.Password)).RefreshToken,
            _ => throw new ArgumentOutOfRangeException(nameof(defect)),
        };

        using var response = await host.SendAsync(HttpMethod.Get, "/api/auth/me", token);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("unauthorized"));
    }

    private sealed record Admin(Guid TenantId, Guid UserId, string Email);

    private static async Task<Admin> ProvisionAdminAsync(ApiHost host)
    {
        var body = TenantBody.New();
        using var response = await host.ProvisionAsync(body);
        var tenant = await response.JsonAsync();
        return new Admin(tenant["id"]!.GetValue<Guid>(), tenant["admin"]!["id"]!.GetValue<Guid>(), body.AdminEmail!);
    }

    private static SigningCredentials Credentials(byte[] key) => new(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256);

    /// <summary>A token as the API issues it (issuer, audience, type, HS256 with the host's key, 5 minutes), then tweaked.</summary>
    private static string Token(Admin admin, Action<SecurityTokenDescriptor>? tweak = null, bool setDefaultTimes = true)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            TokenType = "at+jwt",
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = admin.UserId.ToString("D"),
                [JwtRegisteredClaimNames.Email] = admin.Email,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
                ["role"] = "tenant_admin",
                ["tid"] = admin.TenantId.ToString("D"),
            },
            SigningCredentials = Credentials(Convert.FromBase64String(ApiHost.SigningKey)),
        };
        tweak?.Invoke(descriptor);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = setDefaultTimes }.CreateToken(descriptor);
    }

    /// <summary>Re-encodes the payload with the role raised to super_admin and keeps the original signature.</summary>
    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["role"] = "super_admin";
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload.ToJsonString())}.{parts[2]}";
    }
}
