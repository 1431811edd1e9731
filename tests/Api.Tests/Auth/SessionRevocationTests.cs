using System.Net;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

/// <summary>"Sign out all sessions": of oneself, of a user by their tenant's admin or a super-admin, of a whole tenant by a super-admin.</summary>
public sealed class SessionRevocationTests
{
    [Fact]
    public async Task AUserSigningOutEverywhereEndsAllTheirRefreshTokensOnly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var second = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        var member = await host.AddUserAsync(tenant);

        using var revoked = await host.SendAsync(HttpMethod.Post, "/api/auth/sessions/revoke", second.AccessToken);

        revoked.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await PasswordChangeTests.RefreshAsync(host, tenant.Admin.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await PasswordChangeTests.RefreshAsync(host, second.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await PasswordChangeTests.RefreshAsync(host, member.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.OK, "another user's sessions stand");
        (await AuditActionsAsync(host, tenant.Admin.AccessToken, "user.sessions_revoked")).Should().Be(1);
    }

    [Fact]
    public async Task ATenantAdminEndsAMembersSessionsButAMemberMayNotAndAnotherTenantsUserIsNotFound()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var memberId = member.Body["user"]!["id"]!.GetValue<string>();
        var foreignId = other.Admin.Body["user"]!["id"]!.GetValue<string>();

        using var byMember = await host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/sessions/revoke", member.AccessToken);
        using var foreign = await host.SendAsync(HttpMethod.Post, $"/api/users/{foreignId}/sessions/revoke", tenant.Admin.AccessToken);
        using var missing = await host.SendAsync(HttpMethod.Post, $"/api/users/{Guid.NewGuid()}/sessions/revoke", tenant.Admin.AccessToken);
        var memberStillIn = await PasswordChangeTests.RefreshAsync(host, member.RefreshToken);
        var foreignStillIn = await PasswordChangeTests.RefreshAsync(host, other.Admin.RefreshToken);
        using var byAdmin = await host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/sessions/revoke", tenant.Admin.AccessToken);

        byMember.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        foreign.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await foreign.BodyWithoutTraceAsync()).Should().Be(await missing.BodyWithoutTraceAsync());
        memberStillIn.StatusCode.Should().Be(HttpStatusCode.OK);
        foreignStillIn.StatusCode.Should().Be(HttpStatusCode.OK);
        byAdmin.StatusCode.Should().Be(HttpStatusCode.NoContent);
        var memberRefresh = (await memberStillIn.JsonAsync())["refreshToken"]!.GetValue<string>();
        (await PasswordChangeTests.RefreshAsync(host, memberRefresh)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await PasswordChangeTests.RefreshAsync(host, tenant.Admin.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.OK, "the admin's own sessions stand");
        (await AuditActionsAsync(host, tenant.Admin.AccessToken, "user.sessions_revoked")).Should().Be(1);
    }

    [Fact]
    public async Task ASuperAdminEndsAnyUsersSessionsNamingTheTenant()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var adminId = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        var super = await host.SharedSuperAdminTokenAsync();

        using var unnamed = await host.SendAsync(HttpMethod.Post, $"/api/users/{adminId}/sessions/revoke", super);
        using var named = await host.SendAsync(HttpMethod.Post, $"/api/users/{adminId}/sessions/revoke?tenantId={tenant.Id}", super);

        unnamed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        named.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await PasswordChangeTests.RefreshAsync(host, tenant.Admin.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ASuperAdminEndsEverySessionOfOneTenantAndOnlyThatTenant()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        using var revoked = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/sessions/revoke");
        using var unknown = await host.AdminTenantsAsync(HttpMethod.Post, $"{Guid.NewGuid()}/sessions/revoke");
        using var byTenantAdmin = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/sessions/revoke", other.Admin.AccessToken);

        revoked.StatusCode.Should().Be(HttpStatusCode.OK);
        (await revoked.JsonAsync())["revokedSessions"]!.GetValue<int>().Should().Be(2);
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        byTenantAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await PasswordChangeTests.RefreshAsync(host, tenant.Admin.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await PasswordChangeTests.RefreshAsync(host, member.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await PasswordChangeTests.RefreshAsync(host, other.Admin.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.OK);
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await AuditActionsAsync(host, admin.AccessToken, "tenant.sessions_revoked")).Should().Be(1);
        using var system = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?tenantId=system&action=tenant.sessions_revoked&targetId={tenant.Id}",
            await host.SharedSuperAdminTokenAsync());
        (await system.JsonAsync())["items"]!.AsArray().Should().ContainSingle("the super-admin's action is in the system log too");
    }

    private static async Task<int> AuditActionsAsync(ApiHost host, string token, string action)
    {
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action={action}", token);
        audit.EnsureSuccessStatusCode();
        return (await audit.JsonAsync())["items"]!.AsArray().Count;
    }
}
