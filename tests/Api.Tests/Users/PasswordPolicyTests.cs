using System.Net;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Users;

/// <summary>The password policy wherever a password is set: user creation and provisioning (the change has its own tests).</summary>
public sealed class PasswordPolicyTests
{
    [Theory]
    [InlineData("password1")]
    [InlineData("PASSWORD1")]
    [InlineData("iloveyou")]
    [InlineData("12345678")]
    [InlineData("Baseball1")]
    public async Task ACommonPasswordIsRefusedForANewUserWhateverItsCase(string common)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var refused = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email = $"u-{Guid.NewGuid():N}@tenant.test", name = "Some User", password = common, role = "member" });

        await ShouldBeRefusedAsync(refused, "password", "most commonly used passwords");
    }

    [Theory]
    [InlineData("{email}")]
    [InlineData("{EMAIL}")]
    [InlineData("{local}")]
    public async Task APasswordEqualToTheEmailOrItsLocalPartIsRefused(string pattern)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var local = $"someone-{Guid.NewGuid():N}"[..20];
        var email = $"{local}@tenant.test";
        var password = pattern.Replace("{email}", email, StringComparison.Ordinal).Replace("{EMAIL}", email.ToUpperInvariant(), StringComparison.Ordinal)
            .Replace("{local}", local, StringComparison.Ordinal);

        using var refused = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email, name = "Some User", password, role = "member" });

        await ShouldBeRefusedAsync(refused, "password", "e-mail address");
    }

    [Fact]
    public async Task TheRunbooksProvisioningPasswordIsAcceptedAndACommonOneIsNot()
    {
        var host = await ApiHost.SharedAsync();
        var runbook = TenantBody.New() with { AdminPassword = "secure_password" };
        var common = TenantBody.New() with { AdminPassword = "qwertyuiop" };

        using var accepted = await host.ProvisionAsync(runbook);
        using var refused = await host.ProvisionAsync(common);

        accepted.StatusCode.Should().Be(HttpStatusCode.Created);
        (await host.PostLoginAsync(runbook.AdminEmail!, "secure_password")).StatusCode.Should().Be(HttpStatusCode.OK);
        await ShouldBeRefusedAsync(refused, "adminPassword", "most commonly used passwords");
    }

    [Fact]
    public void TheBundledListHoldsTheTenThousandMostCommonPasswords()
    {
        CommonPasswords.Loaded.Should().Be(CommonPasswords.Count);
        CommonPasswords.Contains("123456").Should().BeTrue("the most common password of all");
        CommonPasswords.Contains("secure_password").Should().BeFalse();
    }

    private static async Task ShouldBeRefusedAsync(HttpResponseMessage response, string field, string message)
    {
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("validation"));
        problem["errors"]!.AsObject().Select(e => e.Key).Should().Equal(field);
        problem["errors"]![field]![0]!.GetValue<string>().Should().Contain(message);
    }
}
