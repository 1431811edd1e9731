using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

public sealed class AuthTests
{
    [Fact]
    public async Task LoginReturnsTokensAndTheUser()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = TenantBody.New();
        using var provision = await host.ProvisionAsync(tenant);
        var provisioned = await provision.JsonAsync();

        using var response = await host.PostLoginAsync(tenant.AdminEmail!, tenant.AdminPassword!);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.JsonAsync();
        body.Select(p => p.Key).Should().BeEquivalentTo("accessToken", "tokenType", "expiresIn", "refreshToken", "user");
        body["accessToken"]!.GetValue<string>().Split('.').Should().HaveCount(3);
        body["tokenType"]!.GetValue<string>().Should().Be("Bearer");
        body["expiresIn"]!.GetValue<int>().Should().BeInRange(1, 15 * 60);
        body["refreshToken"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        var user = body["user"]!.AsObject();
        user.Select(p => p.Key).Should().BeEquivalentTo("id", "email", "name", "role", "tenantId");
        user["id"]!.GetValue<Guid>().Should().Be(provisioned["admin"]!["id"]!.GetValue<Guid>());
        user["email"]!.GetValue<string>().Should().Be(tenant.AdminEmail);
        user["name"]!.GetValue<string>().Should().Be(tenant.AdminName);
        user["role"]!.GetValue<string>().Should().Be("tenant_admin");
        user["tenantId"]!.GetValue<Guid>().Should().Be(provisioned["id"]!.GetValue<Guid>());
    }

    [Fact]
    public async Task WrongPasswordAndUnknownEmailGiveTheSameProblem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = TenantBody.New();
        (await host.ProvisionAsync(tenant)).Dispose();

        using var wrongPassword = await host.PostLoginAsync(tenant.AdminEmail!, "not-the-password");
        using var unknownEmail = await host.PostLoginAsync($"nobody-{Guid.NewGuid():N}@nowhere.test", "not-the-password");

        wrongPassword.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        unknownEmail.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var wrong = await WithoutRequestIdsAsync(wrongPassword);
        wrong["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-credentials"));
        wrong.ToJsonString().Should().Be((await WithoutRequestIdsAsync(unknownEmail)).ToJsonString());
    }

    [Fact]
    public async Task RefreshRotatesTheRefreshToken()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var first = tenant.Admin.RefreshToken;

        using var rotated = await RefreshAsync(host, first);
        var tokens = await rotated.JsonAsync();
        var second = tokens["refreshToken"]!.GetValue<string>();
        using var me = await host.SendAsync(HttpMethod.Get, "/api/auth/me", tokens["accessToken"]!.GetValue<string>());
        using var next = await RefreshAsync(host, second);
        using var old = await RefreshAsync(host, first);

        rotated.StatusCode.Should().Be(HttpStatusCode.OK);
        tokens.Select(p => p.Key).Should().BeEquivalentTo("accessToken", "tokenType", "expiresIn", "refreshToken", "user");
        second.Should().NotBe(first);
        me.StatusCode.Should().Be(HttpStatusCode.OK);
        next.StatusCode.Should().Be(HttpStatusCode.OK);
        old.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await old.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-token"));
    }

    [Fact]
    public async Task ReusingAnOldRefreshTokenRevokesTheWholeFamily()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var first = tenant.Admin.RefreshToken;
        using var rotated = await RefreshAsync(host, first);
        var newest = (await rotated.JsonAsync())["refreshToken"]!.GetValue<string>();

        using var reuse = await RefreshAsync(host, first);
        using var afterReuse = await RefreshAsync(host, newest);

        reuse.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        afterReuse.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await afterReuse.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-token"));
    }

    [Fact]
    public async Task LogoutRevokesTheRefreshToken()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var logout = await host.Client.PostAsJsonAsync("/api/auth/logout", new { refreshToken = tenant.Admin.RefreshToken });
        using var refresh = await RefreshAsync(host, tenant.Admin.RefreshToken);

        logout.IsSuccessStatusCode.Should().BeTrue();
        refresh.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await refresh.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-token"));
    }

    [Fact]
    public async Task LoginRefusesAPasswordOver128CharactersAsInvalidCredentials()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = TenantBody.New();
        (await host.ProvisionAsync(tenant)).Dispose();

        using var response = await host.PostLoginAsync(tenant.AdminEmail!, new string('p', 129));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-credentials"));
    }

    private static Task<HttpResponseMessage> RefreshAsync(ApiHost host, string refreshToken) =>
        host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken });

    /// <summary>The problem document minus what differs per request by design.</summary>
    private static async Task<JsonObject> WithoutRequestIdsAsync(HttpResponseMessage response)
    {
        var problem = await response.ProblemAsync();
        problem.Remove("traceId");
        problem.Remove("requestId");
        return problem;
    }
}
