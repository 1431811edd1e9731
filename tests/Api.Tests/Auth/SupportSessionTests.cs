using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

/// <summary>Support access the tenant can see: a super-admin acts as a user for a reason, audited with both identities; the tenant ends or forbids it.</summary>
public sealed class SupportSessionTests
{
    [Fact]
    public async Task ASuperAdminActsAsAUserForAReasonAndEveryRequestIsAuditedWithBothIdentities()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var memberId = member.Body["user"]!["id"]!.GetValue<string>();
        var super = await host.SharedSuperAdminTokenAsync();

        using var opened = await OpenAsync(host, super, tenant.Id, memberId, "ticket 4711: customer list looks empty", 15);
        var body = await opened.JsonAsync();
        var token = body["accessToken"]!.GetValue<string>();
        var sessionId = body["session"]!["id"]!.GetValue<string>();
        using var read = await host.SendAsync(HttpMethod.Get, "/api/customers", token);
        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", token, new { name = "Made in support" });
        var customerId = (await created.JsonAsync())["id"]!.GetValue<string>();
        using var listed = await host.SendAsync(HttpMethod.Get, "/api/tenants/support-sessions", tenant.Admin.AccessToken);

        opened.StatusCode.Should().Be(HttpStatusCode.Created);
        body["expiresIn"]!.GetValue<int>().Should().BeInRange(14 * 60, 15 * 60);
        read.StatusCode.Should().Be(HttpStatusCode.OK);
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var change = await AuditAsync(host, tenant.Admin.AccessToken, $"action=customer.created&targetId={customerId}");
        change["actor"]!["id"]!.GetValue<string>().Should().Be(memberId, "the actor is the user acted as");
        var details = change["details"]!;
        details["support"]!["session"]!.GetValue<string>().Should().Be(sessionId);
        details["support"]!["by"]!.GetValue<string>().Should().Be(host.SuperAdminEmail, "the super-admin behind it is named");
        var requests = await AuditItemsAsync(host, tenant.Admin.AccessToken, "action=support.request");
        requests.Should().HaveCountGreaterThanOrEqualTo(2, "every request of the session is in the tenant's log");
        requests.Select(r => r!["details"]!["path"]!.GetValue<string>()).Should().Contain("/api/customers");
        var session = (await listed.JsonAsync())["items"]!.AsArray().Single()!;
        session["reason"]!.GetValue<string>().Should().Be("ticket 4711: customer list looks empty");
        session["openedBy"]!.GetValue<string>().Should().Be(host.SuperAdminEmail);
        session["active"]!.GetValue<bool>().Should().BeTrue();
        (await AuditItemsAsync(host, tenant.Admin.AccessToken, "action=support.session_opened")).Should().ContainSingle();
    }

    [Fact]
    public async Task ATenantAdminEndsASessionAndItsTokenIsRefusedAtOnce()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var super = await host.SharedSuperAdminTokenAsync();
        var adminId = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        using var opened = await OpenAsync(host, super, tenant.Id, adminId, "checking a report", 30);
        var body = await opened.JsonAsync();
        var token = body["accessToken"]!.GetValue<string>();
        (await host.SendAsync(HttpMethod.Get, "/api/customers", token)).EnsureSuccessStatusCode().Dispose();

        using var ended = await host.SendAsync(HttpMethod.Delete, $"/api/tenants/support-sessions/{body["session"]!["id"]!.GetValue<string>()}",
            tenant.Admin.AccessToken);
        using var after = await host.SendAsync(HttpMethod.Get, "/api/customers", token);

        ended.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ended.JsonAsync())["active"]!.GetValue<bool>().Should().BeFalse();
        after.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await after.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("support session has ended");
        (await AuditItemsAsync(host, tenant.Admin.AccessToken, "action=support.session_ended")).Should().ContainSingle();
    }

    [Fact]
    public async Task ATenantThatForbidsSupportAccessEndsTheActiveSessionsAndRefusesNewOnes()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var super = await host.SharedSuperAdminTokenAsync();
        var adminId = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        using var opened = await OpenAsync(host, super, tenant.Id, adminId, "before the switch", 30);
        var token = (await opened.JsonAsync())["accessToken"]!.GetValue<string>();

        using var forbid = await host.SendAsync(HttpMethod.Put, "/api/tenants/settings", tenant.Admin.AccessToken, new { allowSupportAccess = false });
        using var read = await host.SendAsync(HttpMethod.Get, "/api/tenants/settings", tenant.Admin.AccessToken);
        using var old = await host.SendAsync(HttpMethod.Get, "/api/customers", token);
        using var refused = await OpenAsync(host, super, tenant.Id, adminId, "after the switch", 30);
        using var allow = await host.SendAsync(HttpMethod.Put, "/api/tenants/settings", tenant.Admin.AccessToken, new { allowSupportAccess = true });
        using var again = await OpenAsync(host, super, tenant.Id, adminId, "allowed again", 5);

        forbid.StatusCode.Should().Be(HttpStatusCode.OK);
        (await read.JsonAsync())["allowSupportAccess"]!.GetValue<bool>().Should().BeFalse();
        old.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "forbidding support access ends the sessions already open");
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("support-access-disabled"));
        allow.StatusCode.Should().Be(HttpStatusCode.OK);
        again.StatusCode.Should().Be(HttpStatusCode.Created);
        (await AuditItemsAsync(host, tenant.Admin.AccessToken, "action=tenant.settings_changed")).Should().HaveCount(2);
    }

    [Theory]
    [InlineData("GET", "/api/auth/me")]
    [InlineData("POST", "/api/auth/password")]
    [InlineData("GET", "/api/tenants/support-sessions")]
    [InlineData("PUT", "/api/tenants/settings")]
    [InlineData("POST", "/api/api-keys")]
    // An account planted during a session would outlive it; locking people out is the tenant's own decision.
    [InlineData("POST", "/api/users")]
    [InlineData("POST", "/api/users/{self}/disable")]
    [InlineData("POST", "/api/users/{self}/enable")]
    public async Task ASupportSessionMayNotChangeThePersonsAccountOrTheTenantsSupportAccess(string method, string path)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var super = await host.SharedSuperAdminTokenAsync();
        using var opened = await OpenAsync(host, super, tenant.Id, tenant.Admin.Body["user"]!["id"]!.GetValue<string>(), "trying doors", 10);
        var token = (await opened.JsonAsync())["accessToken"]!.GetValue<string>();

        var userId = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        using var response = await host.SendAsync(new HttpMethod(method), path.Replace("{self}", userId, StringComparison.Ordinal), token,
            method == "GET" ? null : new
            {
                allowSupportAccess = true, currentPassword = TenantBodyPassword, newPassword = "a-new-long-password", name = "k",
                email = $"planted-{Guid.NewGuid():N}@tenant.test", password = "a-planted-password", role = "tenant_admin",
            });

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task BadOrForeignRequestsAreRefusedWithTheRightAnswer()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var super = await host.SharedSuperAdminTokenAsync();
        var foreignUser = other.Admin.Body["user"]!["id"]!.GetValue<string>();
        using var theirs = await OpenAsync(host, super, other.Id, foreignUser, "their session", 10);
        var theirSession = (await theirs.JsonAsync())["session"]!["id"]!.GetValue<string>();

        using var tooLong = await OpenAsync(host, super, tenant.Id, foreignUser, "x", 61);
        using var noReason = await OpenAsync(host, super, tenant.Id, foreignUser, " ", 10);
        using var userOfAnother = await OpenAsync(host, super, tenant.Id, foreignUser, "wrong tenant", 10);
        using var noTenant = await OpenAsync(host, super, Guid.NewGuid(), foreignUser, "nobody", 10);
        using var byAdmin = await OpenAsync(host, tenant.Admin.AccessToken, tenant.Id, foreignUser, "not mine to open", 10);
        using var byMember = await host.SendAsync(HttpMethod.Get, "/api/tenants/support-sessions", member.AccessToken);
        using var foreignEnd = await host.SendAsync(HttpMethod.Delete, $"/api/tenants/support-sessions/{theirSession}", tenant.Admin.AccessToken);
        using var missingEnd = await host.SendAsync(HttpMethod.Delete, $"/api/tenants/support-sessions/{Guid.NewGuid()}", tenant.Admin.AccessToken);

        tooLong.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await tooLong.ProblemAsync())["errors"]!["minutes"].Should().NotBeNull();
        noReason.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await noReason.ProblemAsync())["errors"]!["reason"].Should().NotBeNull();
        userOfAnother.StatusCode.Should().Be(HttpStatusCode.NotFound, "a user of another tenant is not in this one");
        noTenant.StatusCode.Should().Be(HttpStatusCode.NotFound);
        byAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        byMember.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        foreignEnd.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await foreignEnd.BodyWithoutTraceAsync()).Should().Be(await missingEnd.BodyWithoutTraceAsync());
    }

    private const string TenantBodyPassword = TenantBody.Password;

    private static Task<HttpResponseMessage> OpenAsync(ApiHost host, string token, Guid tenant, string userId, string reason, int minutes) =>
        host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant}/support-sessions", token, new { userId, reason, minutes });

    private static async Task<JsonNode> AuditAsync(ApiHost host, string token, string query) =>
        (await AuditItemsAsync(host, token, query)).Single()!;

    private static async Task<JsonArray> AuditItemsAsync(ApiHost host, string token, string query)
    {
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?{query}", token);
        audit.EnsureSuccessStatusCode();
        return (await audit.JsonAsync())["items"]!.AsArray();
    }
}
