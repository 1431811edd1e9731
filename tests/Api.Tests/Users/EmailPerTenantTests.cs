using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Auth;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Users;

/// <summary>E-mail addresses are unique per tenant: another tenant's users are not in this tenant's namespace.</summary>
public sealed class EmailPerTenantTests
{
    [Fact]
    public async Task CreatingAUserWithAnotherTenantsEmailAnswersExactlyLikeANeverUsedEmail()
    {
        var host = await ApiHost.SharedAsync();
        var first = await host.ProvisionTenantAsync();
        var second = await host.ProvisionTenantAsync();
        var taken = first.AdminEmail;
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var unused = $"admin-{suffix}@tenant-{suffix}.test";

        using var takenAnswer = await host.SendAsync(HttpMethod.Post, "/api/users", second.Admin.AccessToken,
            new { email = taken, name = "Same Name", password = "second-tenant-password" });
        using var unusedAnswer = await host.SendAsync(HttpMethod.Post, "/api/users", second.Admin.AccessToken,
            new { email = unused, name = "Same Name", password = "second-tenant-password" });

        takenAnswer.StatusCode.Should().Be(unusedAnswer.StatusCode).And.Be(HttpStatusCode.Created);
        takenAnswer.Content.Headers.ContentType!.ToString().Should().Be(unusedAnswer.Content.Headers.ContentType!.ToString());
        var (takenBody, takenLocation) = await NormalizedAsync(takenAnswer, taken);
        var (unusedBody, unusedLocation) = await NormalizedAsync(unusedAnswer, unused);
        takenBody.Should().Be(unusedBody);
        takenLocation.Should().Be(unusedLocation);
        (await LandsInAsync(host, taken, "second-tenant-password")).Should().Be(second.Id);
        (await LandsInAsync(host, unused, "second-tenant-password")).Should().Be(second.Id);
        (await LandsInAsync(host, taken, first.AdminPassword)).Should().Be(first.Id);
        using var list = await host.SendAsync(HttpMethod.Get, "/api/users", second.Admin.AccessToken);
        (await list.JsonAsync())["items"]!.AsArray().Select(u => u!["email"]!.GetValue<string>())
            .Should().BeEquivalentTo(second.AdminEmail, taken, unused);
    }

    [Fact]
    public async Task AnEmailInUseInTheSameTenantIs409DuplicateEmail()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email = tenant.AdminEmail.ToUpperInvariant(), name = "Copy Cat", password = "member-password" });

        response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("duplicate-email"));
        problem["detail"]!.GetValue<string>().Should().Contain("this tenant");
    }

    [Fact]
    public async Task DifferentPasswordsForOneEmailInTwoTenantsEachLandInTheirOwnTenant()
    {
        var host = await ApiHost.SharedAsync();
        var first = await host.ProvisionTenantAsync();
        var second = await host.ProvisionTenantAsync();
        var shared = await CreateUserAsync(host, second, first.AdminEmail, "second-tenant-password");

        var secondLanding = await LandsInAsync(host, first.AdminEmail.ToUpperInvariant(), "second-tenant-password");
        var firstLanding = await LandsInAsync(host, first.AdminEmail, first.AdminPassword);

        secondLanding.Should().Be(second.Id);
        firstLanding.Should().Be(first.Id);
        (await AuditCountAsync(host, first, "auth.login_failed")).Should().Be(0,
            "the older account of the first tenant is checked without side effects when the second tenant's accepts the password");
        (await AuditCountAsync(host, second, "auth.login_succeeded", shared)).Should().Be(1);
    }

    [Fact]
    public async Task AnAccountPlantedWithAnotherTenantsEmailCannotTestPasswordsAgainstItForFree()
    {
        var shared = await ApiHost.SharedAsync();
        await using var host = await ApiHost.StartAsync(shared.Database, settings: [SignInHosts.Proxy, "--Shohayota:Auth:SignIn:AccountFailureCeiling=3"]);
        // The victim's admin signed in on provisioning, from the host's own address: an address the account trusts.
        var victim = await host.ProvisionTenantAsync();
        var attacker = await host.ProvisionTenantAsync();
        await CreateUserAsync(host, attacker, victim.AdminEmail, "planted-account-password");

        // Each guess is the planted account's password (an attacker would change it to each guess in turn), from a new
        // address: the victim's older account rejects it, and the planted account signs in.
        for (var i = 0; i < 3; i++)
        {
            using var guess = await host.LoginFromAsync(SignInHosts.NewAddress(), victim.AdminEmail, "planted-account-password");
            guess.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // The rejections counted toward the victim account's ceiling: a new address is held off it, even with the right
        // password, while an address it signed in from still signs in.
        using var fromNewAddress = await host.LoginFromAsync(SignInHosts.NewAddress(), victim.AdminEmail, victim.AdminPassword);
        using var fromTrustedAddress = await host.PostLoginAsync(victim.AdminEmail, victim.AdminPassword);

        fromNewAddress.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        fromTrustedAddress.StatusCode.Should().Be(HttpStatusCode.OK);
        (await AuditCountAsync(host, victim, "auth.login_failed")).Should().Be(0, "a rejection while another account signed in is counted silently");
    }

    [Fact]
    public async Task TheSamePasswordInTwoTenantsSignsInToTheOldestAccountAndTenantIdPicksEither()
    {
        var host = await ApiHost.SharedAsync();
        var first = await host.ProvisionTenantAsync();
        var second = await host.ProvisionTenantAsync();
        var third = await host.ProvisionTenantAsync();
        await CreateUserAsync(host, second, first.AdminEmail, first.AdminPassword);

        var plain = await LandsInAsync(host, first.AdminEmail, first.AdminPassword);
        var pickedSecond = await LandsInAsync(host, first.AdminEmail, first.AdminPassword, second.Id.ToString());
        var pickedFirst = await LandsInAsync(host, first.AdminEmail, first.AdminPassword, first.Id.ToString());
        using var pickedThird = await PostLoginAsync(host, first.AdminEmail, first.AdminPassword, third.Id.ToString());
        using var malformed = await PostLoginAsync(host, first.AdminEmail, first.AdminPassword, "not-a-tenant");

        plain.Should().Be(first.Id);
        pickedSecond.Should().Be(second.Id);
        pickedFirst.Should().Be(first.Id);
        pickedThird.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "a tenant without an account for the e-mail is like an unknown e-mail");
        (await pickedThird.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-credentials"));
        malformed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await malformed.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal("tenantId");
    }

    [Fact]
    public async Task AWrongPasswordForBothAccountsIs401LikeAnyFailureAndCountsInBothTenants()
    {
        var host = await ApiHost.SharedAsync();
        var first = await host.ProvisionTenantAsync();
        var second = await host.ProvisionTenantAsync();
        var sharedUser = await CreateUserAsync(host, second, first.AdminEmail, "second-tenant-password");

        using var shared = await PostLoginAsync(host, first.AdminEmail, "wrong-password");
        using var unknown = await PostLoginAsync(host, $"nobody-{Guid.NewGuid():N}@tenant.test", "wrong-password");

        shared.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        unknown.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        shared.Content.Headers.ContentType!.ToString().Should().Be(unknown.Content.Headers.ContentType!.ToString());
        WithoutTraceIds(await shared.Content.ReadAsStringAsync()).Should().Be(WithoutTraceIds(await unknown.Content.ReadAsStringAsync()));
        (await AuditCountAsync(host, first, "auth.login_failed")).Should().Be(1);
        (await AuditCountAsync(host, second, "auth.login_failed", sharedUser)).Should().Be(1);
    }

    private static async Task<Guid> CreateUserAsync(ApiHost host, TestTenant tenant, string email, string password)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email, name = "Shared Address", password, role = "tenant_admin" });
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return (await response.JsonAsync())["id"]!.GetValue<Guid>();
    }

    private static Task<HttpResponseMessage> PostLoginAsync(ApiHost host, string email, string password, string? tenantId = null) =>
        tenantId is null
            ? host.PostLoginAsync(email, password)
            : host.Client.PostAsJsonAsync("/api/auth/login", new { email, password, tenantId });

    /// <summary>The tenant a successful sign-in lands in (from its token's user).</summary>
    private static async Task<Guid> LandsInAsync(ApiHost host, string email, string password, string? tenantId = null)
    {
        using var response = await PostLoginAsync(host, email, password, tenantId);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.JsonAsync();
        using var me = await host.SendAsync(HttpMethod.Get, "/api/auth/me", body["accessToken"]!.GetValue<string>());
        me.StatusCode.Should().Be(HttpStatusCode.OK);
        return (await me.JsonAsync())["tenantId"]!.GetValue<Guid>();
    }

    private static async Task<int> AuditCountAsync(ApiHost host, TestTenant tenant, string action, Guid? targetId = null)
    {
        var target = targetId is { } id ? $"&targetId={id}" : "";
        using var response = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action={action}{target}", tenant.Admin.AccessToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return (await response.JsonAsync())["items"]!.AsArray().Count;
    }

    /// <summary>The raw body and Location with only what must differ (the new id, the e-mail sent, the creation time) replaced.</summary>
    private static async Task<(string Body, string Location)> NormalizedAsync(HttpResponseMessage response, string email)
    {
        var raw = await response.Content.ReadAsStringAsync();
        var parsed = JsonNode.Parse(raw)!;
        var id = parsed["id"]!.GetValue<string>();
        var createdAt = parsed["createdAt"]!.GetValue<string>();
        var body = raw.Replace(id, "<id>", StringComparison.Ordinal)
            .Replace(createdAt, "<createdAt>", StringComparison.Ordinal)
            .Replace(email, "<email>", StringComparison.Ordinal);
        return (body, response.Headers.Location!.OriginalString.Replace(id, "<id>", StringComparison.Ordinal));
    }

    /// <summary>The raw problem document with its per-request trace fields replaced.</summary>
    private static string WithoutTraceIds(string problem)
    {
        var parsed = JsonNode.Parse(problem)!;
        foreach (var field in new[] { "requestId", "traceId" })
        {
            var value = parsed[field]!.GetValue<string>();
            value.Should().NotBeNullOrEmpty();
            problem = problem.Replace(value, $"<{field}>", StringComparison.Ordinal);
        }

        return problem;
    }
}
