using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

/// <summary><c>POST /api/auth/password</c>: the current password checked like a sign-in, the policy on the new one, every other session ended.</summary>
public sealed class PasswordChangeTests
{
    private const string NewPassword = "correct-horse-battery-staple";

    [Fact]
    public async Task AWrongCurrentPasswordIsTheSignInProblemAndChangesNothing()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var wrong = await ChangeAsync(host, tenant.Admin.AccessToken, "not-the-password", NewPassword);
        using var signIn = await host.PostLoginAsync(tenant.AdminEmail, "not-the-password");

        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await WithoutRequestIdsAsync(wrong)).ToJsonString().Should().Be((await WithoutRequestIdsAsync(signIn)).ToJsonString());
        (await host.PostLoginAsync(tenant.AdminEmail, tenant.AdminPassword)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await RefreshAsync(host, tenant.Admin.RefreshToken)).StatusCode.Should().Be(HttpStatusCode.OK, "a refused change ends no session");
    }

    [Theory]
    [InlineData("Password1", "most commonly used passwords")]
    [InlineData("12345678", "most commonly used passwords")]
    [InlineData("short", "at least 8 characters")]
    [InlineData("{email}", "e-mail address")]
    [InlineData("{EMAIL-LOCAL}", "e-mail address")]
    public async Task AWeakNewPasswordIsAValidationProblemNamingTheField(string weak, string message)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        weak = weak.Replace("{email}", tenant.AdminEmail, StringComparison.Ordinal)
            .Replace("{EMAIL-LOCAL}", tenant.AdminEmail[..tenant.AdminEmail.IndexOf('@', StringComparison.Ordinal)].ToUpperInvariant(), StringComparison.Ordinal);

        using var refused = await ChangeAsync(host, tenant.Admin.AccessToken, tenant.AdminPassword, weak);

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await refused.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("validation"));
        problem["errors"]!.AsObject().Select(e => e.Key).Should().Equal("newPassword");
        problem["errors"]!["newPassword"]![0]!.GetValue<string>().Should().Contain(message);
        (await host.PostLoginAsync(tenant.AdminEmail, tenant.AdminPassword)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AChangeEndsEverySessionAndAnswersWithAFreshPairThatWorks()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var otherSession = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);

        using var changed = await ChangeAsync(host, tenant.Admin.AccessToken, tenant.AdminPassword, NewPassword);
        var body = await changed.JsonAsync();
        using var oldRefresh = await RefreshAsync(host, tenant.Admin.RefreshToken);
        using var otherRefresh = await RefreshAsync(host, otherSession.RefreshToken);
        using var newRefresh = await RefreshAsync(host, body["refreshToken"]!.GetValue<string>());
        using var me = await host.SendAsync(HttpMethod.Get, "/api/auth/me", body["accessToken"]!.GetValue<string>());
        using var oldPassword = await host.PostLoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var newPassword = await host.PostLoginAsync(tenant.AdminEmail, NewPassword);

        changed.StatusCode.Should().Be(HttpStatusCode.OK);
        body.Select(p => p.Key).Should().BeEquivalentTo("accessToken", "tokenType", "expiresIn", "refreshToken", "user");
        oldRefresh.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await oldRefresh.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-token"));
        otherRefresh.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        newRefresh.StatusCode.Should().Be(HttpStatusCode.OK);
        me.StatusCode.Should().Be(HttpStatusCode.OK);
        oldPassword.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        newPassword.StatusCode.Should().Be(HttpStatusCode.OK);

        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=user.password_changed", body["accessToken"]!.GetValue<string>());
        var text = await audit.Content.ReadAsStringAsync();
        var entries = JsonNode.Parse(text)!["items"]!.AsArray();
        entries.Should().ContainSingle();
        entries[0]!["target"]!["id"]!.GetValue<string>().Should().Be(body["user"]!["id"]!.GetValue<string>());
        text.Should().NotContain(NewPassword).And.NotContain(tenant.AdminPassword).And.NotContain("pbkdf2");
    }

    [Fact]
    public async Task ANewPasswordEqualToTheCurrentOneIsRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var same = await ChangeAsync(host, tenant.Admin.AccessToken, tenant.AdminPassword, tenant.AdminPassword);

        same.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await same.ProblemAsync())["errors"]!["newPassword"]![0]!.GetValue<string>().Should().Contain("differ");
    }

    [Fact]
    public async Task ChangingAPasswordNeedsASignedInCaller()
    {
        var host = await ApiHost.SharedAsync();

        using var anonymous = await ChangeAsync(host, null, "whatever-it-is", NewPassword);

        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await anonymous.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("unauthorized"));
    }

    internal static Task<HttpResponseMessage> ChangeAsync(ApiHost host, string? token, string current, string next) =>
        host.SendAsync(HttpMethod.Post, "/api/auth/password", token, new { currentPassword = current, newPassword = next });

    internal static Task<HttpResponseMessage> RefreshAsync(ApiHost host, string refreshToken) =>
        host.Client.PostAsync("/api/auth/refresh", System.Net.Http.Json.JsonContent.Create(new { refreshToken }));

    private static async Task<JsonObject> WithoutRequestIdsAsync(HttpResponseMessage response)
    {
        var problem = await response.ProblemAsync();
        problem.Remove("traceId");
        problem.Remove("requestId");
        return problem;
    }
}
