using System.Net;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

public sealed class AuthorizationTests
{
    [Theory]
    [InlineData("tenant_admin")]
    [InlineData("member")]
    public async Task TenantRolesCannotUseTheAdminApi(string role)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = role == "tenant_admin" ? tenant.Admin.AccessToken : (await host.AddUserAsync(tenant, role)).AccessToken;

        using var list = await host.SendAsync(HttpMethod.Get, "/api/admin/tenants", token);
        using var reactivate = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/reactivate", token);

        list.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await list.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("forbidden"));
        reactivate.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await reactivate.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("forbidden"));
    }

    [Theory]
    [InlineData("GET", "/api/admin/tenants")]
    [InlineData("GET", "/api/users")]
    [InlineData("GET", "/api/auth/me")]
    public async Task NoTokenIs401(string method, string path)
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.SendAsync(new HttpMethod(method), path, token: null);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("unauthorized"));
    }

    [Fact]
    public async Task MembersCannotManageUsers()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        using var list = await host.SendAsync(HttpMethod.Get, "/api/users", member.AccessToken);
        using var create = await host.SendAsync(HttpMethod.Post, "/api/users", member.AccessToken,
            new { email = $"new-{Guid.NewGuid():N}@tenant.test", name = "New", password = "new-password", role = "member" });

        list.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await list.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("forbidden"));
        create.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }
}
