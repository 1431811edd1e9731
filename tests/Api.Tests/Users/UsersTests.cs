using System.Net;
using System.Net.Http.Json;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Users;

public sealed class UsersTests
{
    [Fact]
    public async Task AdminCreatesAUserAndSeesItInTheList()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var email = $"new-{Guid.NewGuid():N}@tenant.test";

        using var create = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email, name = "New Member", password = "member-password" });
        using var list = await host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);

        create.StatusCode.Should().Be(HttpStatusCode.Created);
        var created = await create.JsonAsync();
        create.Headers.Location!.OriginalString.Should().Be($"/api/users/{created["id"]!.GetValue<Guid>()}");
        created["email"]!.GetValue<string>().Should().Be(email);
        created["role"]!.GetValue<string>().Should().Be("member");
        created["disabled"]!.GetValue<bool>().Should().BeFalse();
        list.StatusCode.Should().Be(HttpStatusCode.OK);
        var emails = (await list.JsonAsync())["items"]!.AsArray().Select(u => u!["email"]!.GetValue<string>());
        emails.Should().BeEquivalentTo(tenant.AdminEmail, email);
    }

    [Theory]
    [InlineData(7, HttpStatusCode.BadRequest)]
    [InlineData(8, HttpStatusCode.Created)]
    [InlineData(128, HttpStatusCode.Created)]
    [InlineData(129, HttpStatusCode.BadRequest)]
    public async Task CreateAcceptsPasswordsOf8To128Characters(int length, HttpStatusCode expected)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email = $"user-{Guid.NewGuid():N}@tenant.test", name = "Some User", password = new string('p', length) });

        response.StatusCode.Should().Be(expected);
        if (expected == HttpStatusCode.BadRequest)
        {
            var problem = await response.ProblemAsync();
            problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("validation"));
            problem["errors"]!.AsObject().Select(p => p.Key).Should().Equal("password");
        }
    }

    [Fact]
    public async Task ADisabledUsersLiveTokensAreRefusedUntilItIsEnabledAgain()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var memberId = member.Body["user"]!["id"]!.GetValue<Guid>();
        var memberEmail = member.Body["user"]!["email"]!.GetValue<string>();

        using var disable = await host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/disable", tenant.Admin.AccessToken);
        using var meWhileDisabled = await host.SendAsync(HttpMethod.Get, "/api/auth/me", member.AccessToken);
        using var refreshWhileDisabled = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = member.RefreshToken });
        using var enable = await host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/enable", tenant.Admin.AccessToken);
        using var meAfterEnable = await host.SendAsync(HttpMethod.Get, "/api/auth/me", member.AccessToken);
        using var loginAfterEnable = await host.PostLoginAsync(memberEmail, "member-password");

        disable.StatusCode.Should().Be(HttpStatusCode.OK);
        (await disable.JsonAsync())["disabled"]!.GetValue<bool>().Should().BeTrue();
        meWhileDisabled.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await meWhileDisabled.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("user-disabled"));
        refreshWhileDisabled.StatusCode.Should().BeOneOf(HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden);
        enable.StatusCode.Should().Be(HttpStatusCode.OK);
        meAfterEnable.StatusCode.Should().Be(HttpStatusCode.OK);
        loginAfterEnable.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ADisabledUserCannotSignIn()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        using var disable = await host.SendAsync(HttpMethod.Post, $"/api/users/{member.Body["user"]!["id"]}/disable", tenant.Admin.AccessToken);

        using var login = await host.PostLoginAsync(member.Body["user"]!["email"]!.GetValue<string>(), "member-password");

        disable.StatusCode.Should().Be(HttpStatusCode.OK);
        login.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await login.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("user-disabled"));
    }

    [Fact]
    public async Task AnAdminCannotDisableAnotherTenantsUser()
    {
        var host = await ApiHost.SharedAsync();
        var mine = await host.ProvisionTenantAsync();
        var theirs = await host.ProvisionTenantAsync();
        var theirAdminId = theirs.Admin.Body["user"]!["id"]!.GetValue<Guid>();

        using var response = await host.SendAsync(HttpMethod.Post, $"/api/users/{theirAdminId}/disable", mine.Admin.AccessToken);
        using var theirMe = await host.SendAsync(HttpMethod.Get, "/api/auth/me", theirs.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        theirMe.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
