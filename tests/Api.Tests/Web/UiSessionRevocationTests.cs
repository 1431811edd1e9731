using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;
using Shohayota.Api.Web;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Api.Tests.Web;

/// <summary>
/// A copied UI session cookie stops working within <c>Shohayota:Ui:SessionRevalidation</c> once its refresh-token family
/// is revoked, whichever way: sign-out, a password change, an admin's or a super-admin's "sign out all sessions", a
/// disabled user. The host's clock is moved past the interval (the node-local cache of good answers).
/// </summary>
public sealed class UiSessionRevocationTests(SessionClockHost fixture) : IClassFixture<SessionClockHost>
{
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task ACopiedCookieStopsWorkingWithinTheIntervalAfterSignOut()
    {
        var tenant = await _host.ProvisionTenantAsync();
        using var owner = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var thief = Copy(owner);
        (await PathAfterAsync(thief, "/")).Should().Be("/customers", "the copied cookie works while the session stands");

        await SignOutAsync(owner);
        var withinInterval = await PathAfterAsync(thief, "/");
        PassInterval();
        using var after = await thief.Client.GetAsync("/");

        withinInterval.Should().Be("/customers", "the node asks the database at most once per interval per session");
        after.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var signIn = new Uri(_host.Client.BaseAddress!, after.Headers.Location!);
        signIn.AbsolutePath.Should().Be("/login");
        (await thief.Client.GetStringAsync(signIn.PathAndQuery)).Should().Contain("You were signed out").And.Contain("session has ended");
        (await PathAfterAsync(thief, "/")).Should().Be("/login", "the refused cookie was cleared and stays refused");
    }

    [Fact]
    public async Task APasswordChangeThroughTheApiEndsTheUiSessions()
    {
        var tenant = await _host.ProvisionTenantAsync();
        using var browser = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await PathAfterAsync(browser, "/")).Should().Be("/customers");

        using var changed = await _host.SendAsync(HttpMethod.Post, "/api/auth/password", tenant.Admin.AccessToken,
            new { currentPassword = tenant.AdminPassword, newPassword = "a-brand-new-passphrase" });
        changed.StatusCode.Should().Be(HttpStatusCode.OK);
        PassInterval();

        (await PathAfterAsync(browser, "/")).Should().Be("/login");
    }

    [Fact]
    public async Task ATenantAdminSigningOutAMemberEndsTheMembersUiSessionButNotTheirOwn()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var (memberEmail, memberId) = await AddMemberAsync(tenant);
        using var member = await SignedInAsync(memberEmail, MemberPassword);
        using var admin = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await PathAfterAsync(member, "/")).Should().Be("/customers");

        using var revoked = await _host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/sessions/revoke", tenant.Admin.AccessToken);
        revoked.StatusCode.Should().Be(HttpStatusCode.NoContent);
        PassInterval();

        (await PathAfterAsync(member, "/")).Should().Be("/login");
        (await PathAfterAsync(admin, "/")).Should().Be("/customers");
    }

    [Fact]
    public async Task ASuperAdminSigningOutATenantEndsEveryUiSessionOfItsUsersOnly()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var other = await _host.ProvisionTenantAsync();
        var (memberEmail, _) = await AddMemberAsync(tenant);
        using var member = await SignedInAsync(memberEmail, MemberPassword);
        using var admin = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var bystander = await SignedInAsync(other.AdminEmail, other.AdminPassword);
        (await PathAfterAsync(member, "/")).Should().Be("/customers");
        (await PathAfterAsync(bystander, "/")).Should().Be("/customers");

        using var revoked = await _host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/sessions/revoke");
        revoked.StatusCode.Should().Be(HttpStatusCode.OK);
        PassInterval();

        (await PathAfterAsync(member, "/")).Should().Be("/login");
        (await PathAfterAsync(admin, "/")).Should().Be("/login");
        (await PathAfterAsync(bystander, "/")).Should().Be("/customers", "another tenant's sessions stand");
    }

    [Fact]
    public async Task ADisabledUsersCookieDiesAndStaysDeadAfterTheUserIsEnabledAgain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var (memberEmail, memberId) = await AddMemberAsync(tenant);
        using var member = await SignedInAsync(memberEmail, MemberPassword);
        using var copy = Copy(member);
        (await PathAfterAsync(member, "/")).Should().Be("/customers");

        using (var disabled = await _host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/disable", tenant.Admin.AccessToken))
        {
            disabled.EnsureSuccessStatusCode();
        }

        var whileDisabled = await PathAfterAsync(member, "/");
        using (var enabled = await _host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/enable", tenant.Admin.AccessToken))
        {
            enabled.EnsureSuccessStatusCode();
        }

        PassInterval();

        whileDisabled.Should().Be("/login");
        (await PathAfterAsync(copy, "/")).Should().Be("/login", "disabling revoked the session for good");
    }

    [Fact]
    public async Task SigningOutEverywhereFromTheAccountPageEndsEveryUiSessionOfTheUser()
    {
        var tenant = await _host.ProvisionTenantAsync();
        using var here = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var elsewhere = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await PathAfterAsync(elsewhere, "/")).Should().Be("/customers");

        var page = await here.Client.GetStringAsync("/account");
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = BrowserSession.AntiforgeryToken(page) });
        using var signedOut = await here.Client.PostAsync("/logout/all", content);
        PassInterval();

        new Uri(_host.Client.BaseAddress!, signedOut.Headers.Location!).PathAndQuery.Should().Be("/login?signedOut=all");
        (await here.Client.GetStringAsync("/login?signedOut=all")).Should().Contain("signed out of every session");
        (await PathAfterAsync(elsewhere, "/")).Should().Be("/login");
        (await _host.PostLoginAsync(tenant.AdminEmail, tenant.AdminPassword)).StatusCode.Should().Be(HttpStatusCode.OK, "only sessions end, not the account");
    }

    [Fact]
    public async Task ChangingThePasswordOnTheAccountPageKeepsThisBrowserAndEndsTheOthers()
    {
        var tenant = await _host.ProvisionTenantAsync();
        using var here = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var elsewhere = await SignedInAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await PathAfterAsync(elsewhere, "/")).Should().Be("/customers");

        using var wrong = await PostPasswordFormAsync(here, "not-the-password", "a-brand-new-passphrase");
        using var weak = await PostPasswordFormAsync(here, tenant.AdminPassword, "Password1");
        using var changed = await PostPasswordFormAsync(here, tenant.AdminPassword, "a-brand-new-passphrase");
        PassInterval();

        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await wrong.Content.ReadAsStringAsync()).Should().Contain("current password is wrong");
        weak.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await weak.Content.ReadAsStringAsync()).Should().Contain("most commonly used passwords");
        changed.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await PathAfterAsync(here, "/")).Should().Be("/customers", "this browser got a cookie for the new session");
        (await PathAfterAsync(elsewhere, "/")).Should().Be("/login");
        (await _host.PostLoginAsync(tenant.AdminEmail, "a-brand-new-passphrase")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AnOpenPagesPeriodicReCheckEndsARevokedSession()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var session = await _host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        var user = session.Body["user"]!;
        var principal = UiAuth.Principal(new SignIn(
            new UserDetails(user["id"]!.GetValue<Guid>(), tenant.Id, tenant.AdminEmail, "Admin User", user["role"]!.GetValue<string>(), false, DateTimeOffset.UnixEpoch),
            new IssuedRefreshToken(session.RefreshToken, DateTimeOffset.MaxValue)));
        using var revalidation = ActivatorUtilities.CreateInstance<UiRevalidation>(_host.Services);
        var before = await StillValidAsync(revalidation, principal);

        using (var loggedOut = await _host.Client.PostAsync("/api/auth/logout", System.Net.Http.Json.JsonContent.Create(new { refreshToken = session.RefreshToken })))
        {
            loggedOut.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        PassInterval();

        before.Should().BeTrue();
        (await StillValidAsync(revalidation, principal)).Should().BeFalse("the circuit's timer sends an idle page to the sign-in page");
    }

    private const string MemberPassword = "member-password";

    /// <summary>What an open page's timer asks (the framework calls this protected method every RevalidationInterval).</summary>
    private static Task<bool> StillValidAsync(UiRevalidation revalidation, System.Security.Claims.ClaimsPrincipal principal) =>
        (Task<bool>)typeof(UiRevalidation).GetMethod("ValidateAuthenticationStateAsync", BindingFlags.Instance | BindingFlags.NonPublic)!
            .Invoke(revalidation, [new AuthenticationState(principal), CancellationToken.None])!;

    private void PassInterval() => fixture.Clock.Advance(UiSessionCheck.DefaultInterval + TimeSpan.FromSeconds(1));

    private async Task<BrowserSession> SignedInAsync(string email, string password)
    {
        var browser = new BrowserSession(_host.Client.BaseAddress!);
        using var signedIn = await browser.SignInAsync(email, password);
        signedIn.StatusCode.Should().Be(HttpStatusCode.Found);
        return browser;
    }

    /// <summary>Another browser holding the same session cookie (stolen or copied).</summary>
    private BrowserSession Copy(BrowserSession original)
    {
        var cookies = new CookieContainer();
        cookies.Add(_host.Client.BaseAddress!, original.Cookies.GetCookies(_host.Client.BaseAddress!)["shohayota.session"]!);
        return new BrowserSession(_host.Client.BaseAddress!, cookies);
    }

    private async Task<string> PathAfterAsync(BrowserSession browser, string path)
    {
        using var response = await browser.Client.GetAsync(path);
        response.StatusCode.Should().Be(HttpStatusCode.Redirect, "the start page redirects to the user's first page, or to the sign-in page");
        return new Uri(_host.Client.BaseAddress!, response.Headers.Location!).AbsolutePath;
    }

    private static async Task SignOutAsync(BrowserSession browser)
    {
        var page = await browser.Client.GetStringAsync("/denied");
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = BrowserSession.AntiforgeryToken(page) });
        using var signedOut = await browser.Client.PostAsync("/logout", content);
        signedOut.StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    private static async Task<HttpResponseMessage> PostPasswordFormAsync(BrowserSession browser, string current, string next)
    {
        var page = await browser.Client.GetStringAsync("/account");
        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = BrowserSession.AntiforgeryToken(page),
            ["_handler"] = "password",
            ["Input.CurrentPassword"] = current,
            ["Input.NewPassword"] = next,
            ["Input.RepeatPassword"] = next,
        });
        return await browser.Client.PostAsync("/account", content);
    }

    private async Task<(string Email, string Id)> AddMemberAsync(TestTenant tenant)
    {
        var email = $"member-{Guid.NewGuid():N}@tenant.test";
        using var created = await _host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email, name = "Some Member", password = MemberPassword, role = "member" });
        created.EnsureSuccessStatusCode();
        return (email, (await created.JsonAsync())["id"]!.GetValue<string>());
    }
}

public sealed class SessionClockHost() : FakeClockApiHost(DateTimeOffset.UtcNow);
