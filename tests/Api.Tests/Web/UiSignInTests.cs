using System.Net;
using System.Net.Http.Json;
using Shohayota.Api.Tests.Auth;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Web;

/// <summary>The web UI's cookie sign-in: the API's credentials, lockout and tenant rules, antiforgery, no open redirect.</summary>
public sealed class UiSignInTests
{
    [Fact]
    public async Task TheRightPasswordSetsAnHttpOnlySessionCookieAndTheWrongOneSaysSoWithout()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = new BrowserSession(host.Client.BaseAddress!);

        using var wrong = await browser.SignInAsync(tenant.AdminEmail, "not-the-password");
        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await wrong.Content.ReadAsStringAsync()).Should().Contain("Wrong e-mail address or password");
        browser.Cookies.GetCookies(host.Client.BaseAddress!)["shohayota.session"].Should().BeNull();

        using var right = await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword);
        right.StatusCode.Should().Be(HttpStatusCode.Found);
        right.Headers.GetValues("Set-Cookie").Should().Contain(c => c.StartsWith("shohayota.session=", StringComparison.Ordinal) &&
            c.Contains("httponly", StringComparison.OrdinalIgnoreCase) && c.Contains("samesite=lax", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task ASuspendedTenantsUserIsToldWhyAndItsOpenSessionEndsOnTheNextRequest()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var open = new BrowserSession(host.Client.BaseAddress!);
        (await open.SignInAsync(tenant.AdminEmail, tenant.AdminPassword)).StatusCode.Should().Be(HttpStatusCode.Found);
        using (var before = await open.Client.GetAsync("/"))
        {
            new Uri(host.Client.BaseAddress!, before.Headers.Location!).AbsolutePath.Should().Be("/customers");
        }

        using (var suspended = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend", new { reason = "ui test" }))
        {
            suspended.EnsureSuccessStatusCode();
        }

        using var next = await open.Client.GetAsync("/");
        next.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var signIn = new Uri(host.Client.BaseAddress!, next.Headers.Location!);
        signIn.AbsolutePath.Should().Be("/login", "the cookie no longer signs the browser in");
        var page = await open.Client.GetStringAsync(signIn.PathAndQuery);
        page.Should().Contain("You were signed out").And.Contain("suspended", "the sign-in page says why the session ended");
        using var fresh = new BrowserSession(host.Client.BaseAddress!);
        using var refused = await fresh.SignInAsync(tenant.AdminEmail, tenant.AdminPassword);
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("suspended");
    }

    [Fact]
    public async Task TheSignInPageSaysWhyEvenWhenAnotherRequestEndedTheSessionAndForgetsItAfterASignIn()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var open = new BrowserSession(host.Client.BaseAddress!);
        (await open.SignInAsync(tenant.AdminEmail, tenant.AdminPassword)).StatusCode.Should().Be(HttpStatusCode.Found);
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend", new { reason = "ui test" })).EnsureSuccessStatusCode().Dispose();

        // A page navigating twice at once: the first request ends the session, the second comes without one.
        (await open.Client.GetAsync("/customers")).Dispose();
        var second = await open.Client.GetStringAsync("/login?returnUrl=%2Fusers");
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/reactivate")).EnsureSuccessStatusCode().Dispose();
        (await open.SignInAsync(tenant.AdminEmail, tenant.AdminPassword)).StatusCode.Should().Be(HttpStatusCode.Found);

        second.Should().Contain("You were signed out").And.Contain("suspended");
        open.Cookies.GetCookies(new Uri(host.Client.BaseAddress!, "/login"))["sh_signed_out"].Should().BeNull("a sign-in clears the old reason");
    }

    [Fact]
    public async Task RepeatedFailuresFromTheUiLockThatAddressOutForTheApiTooButNotTheOwnerElsewhere()
    {
        var host = await SignInHosts.LockoutAsync();
        var tenant = await host.ProvisionTenantAsync();
        var address = SignInHosts.NewAddress();
        using var browser = new BrowserSession(host.Client.BaseAddress!);
        browser.Client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        for (var i = 0; i < 10; i++)
        {
            using var failed = await browser.SignInAsync(tenant.AdminEmail, $"wrong-password-{i}");
            failed.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        using var locked = await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var api = await host.LoginFromAsync(address, tenant.AdminEmail, tenant.AdminPassword);
        using var owner = await host.LoginFromAsync(SignInHosts.NewAddress(), tenant.AdminEmail, tenant.AdminPassword);

        locked.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the right password does not open the account from a locked-out address");
        (await locked.Content.ReadAsStringAsync()).Should().Contain("locked");
        api.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the lockout is the account's for that address, whichever door was used");
        owner.StatusCode.Should().Be(HttpStatusCode.OK, "another address is not locked out");
    }

    [Fact]
    public async Task APostWithoutTheFormsAntiforgeryTokenIsRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = new BrowserSession(host.Client.BaseAddress!);
        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login",
            ["Input.Email"] = tenant.AdminEmail,
            ["Input.Password"] = tenant.AdminPassword,
        });

        using var forged = await browser.Client.PostAsync("/login", content);

        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        browser.Cookies.GetCookies(host.Client.BaseAddress!)["shohayota.session"].Should().BeNull();
    }

    [Theory]
    [InlineData("//evil.example/phish")]
    [InlineData("https://evil.example/")]
    [InlineData("/\\evil.example")]
    public async Task TheReturnUrlCannotLeaveTheSite(string returnUrl)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = new BrowserSession(host.Client.BaseAddress!);
        var form = await browser.Client.GetStringAsync("/login");
        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = BrowserSession.AntiforgeryToken(form),
            ["_handler"] = "login",
            ["Input.Email"] = tenant.AdminEmail,
            ["Input.Password"] = tenant.AdminPassword,
        });

        using var signedIn = await browser.Client.PostAsync("/login?returnUrl=" + Uri.EscapeDataString(returnUrl), content);

        signedIn.StatusCode.Should().Be(HttpStatusCode.Found);
        var target = new Uri(host.Client.BaseAddress!, signedIn.Headers.Location!);
        target.Host.Should().Be(host.Client.BaseAddress!.Host);
        target.AbsolutePath.Should().Be("/");
    }

    [Fact]
    public async Task TheSessionCookieAuthorizesNoApiCallAndSignOutEndsIt()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = new BrowserSession(host.Client.BaseAddress!);
        (await browser.SignInAsync(tenant.AdminEmail, tenant.AdminPassword)).StatusCode.Should().Be(HttpStatusCode.Found);

        using var api = await browser.Client.GetAsync("/api/customers");
        api.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the API takes bearer tokens only: a cookie would open it to cross-site requests");

        var page = await browser.Client.GetStringAsync("/denied");
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = BrowserSession.AntiforgeryToken(page) });
        using var signedOut = await browser.Client.PostAsync("/logout", content);
        signedOut.StatusCode.Should().Be(HttpStatusCode.Redirect);
        using var after = await browser.Client.GetAsync("/");
        new Uri(host.Client.BaseAddress!, after.Headers.Location!).AbsolutePath.Should().Be("/login");

        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=auth.login_succeeded", tenant.Admin.AccessToken);
        (await audit.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["items"]!.AsArray().Should().HaveCount(2,
            "the UI sign-in is audited like the API's (one API sign-in by the test set-up, one through the form)");
    }
}
