using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Auth;

public sealed class SignInTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task SuperAdminLandsOnTheSuperAdminPage()
    {
        await Page.GotoAsync("/login");
        await ScreenshotAsync("sign-in", docsName: "sign-in");

        await SignInAsync(Page, Server.SuperAdminEmail, UiServer.SuperAdminPassword);

        await ArriveAtAsync(Page, PathIs("/admin/tenants"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Tenants", Level = 1 })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task TenantUserLandsOnCustomers()
    {
        var tenant = await Server.ProvisionTenantAsync();

        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);

        await ArriveAtAsync(Page, PathIs("/customers"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Customers", Level = 1 })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task WrongPasswordShowsWhySignInFailed()
    {
        var tenant = await Server.ProvisionTenantAsync();

        await SubmitSignInAsync(Page, tenant.AdminEmail, "not-the-password");

        await Assertions.Expect(Page.GetByTestId("login-message")).ToContainTextAsync("Wrong e-mail address or password");
        await Assertions.Expect(Page).ToHaveURLAsync(PathIs("/login"));
        await Assertions.Expect(Page.GetByLabel("Password")).ToBeEmptyAsync();
        await ScreenshotAsync("wrong-password");
    }

    [Fact]
    public async Task SuspendedTenantsUserIsToldTheAccountIsSuspended()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await Server.SuspendAsync(tenant.Id, "unpaid invoices");

        await SubmitSignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);

        await Assertions.Expect(Page.GetByTestId("login-message")).ToContainTextAsync("suspended");
        await Assertions.Expect(Page).ToHaveURLAsync(PathIs("/login"));
        await ScreenshotAsync("suspended");
    }

    [Fact]
    public async Task DisabledUserIsToldTheAccountIsDisabled()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");
        await Server.DisableUserAsync(tenant, member);

        await SubmitSignInAsync(Page, member.Email, member.Password);

        await Assertions.Expect(Page.GetByTestId("login-message")).ToContainTextAsync("Your user account is disabled");
        await Assertions.Expect(Page).ToHaveURLAsync(PathIs("/login"));
    }

    [Fact]
    public async Task VisitorIsSentToSignInAndBackToThePageAsked()
    {
        var tenant = await Server.ProvisionTenantAsync();

        await Page.GotoAsync("/denied");
        await ArriveAtAsync(Page, PathIs("/login?returnUrl=%2Fdenied"));
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);

        await ArriveAtAsync(Page, PathIs("/denied"));
        await Assertions.Expect(Page.GetByTestId("signed-in-as")).ToHaveTextAsync(tenant.AdminEmail);
    }

    [Fact]
    public async Task SigningOutEndsTheSession()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await Page.GotoAsync("/denied");

        await Page.GetByTestId("sign-out").ClickAsync();

        await ArriveAtAsync(Page, PathIs("/login?signedOut=1"));
        await Assertions.Expect(Page.GetByTestId("login-message")).ToHaveTextAsync("You are signed out.");
        await Page.GotoAsync("/denied");
        await ArriveAtAsync(Page, PathIs("/login?returnUrl=%2Fdenied"));
    }

    [Fact]
    public async Task PagesLoadMudBlazorWithoutConsoleErrors()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await Page.GotoAsync("/login?returnUrl=%2Fcustomers");

        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await WaitForInteractiveAsync(Page);

        (await Page.APIRequest.GetAsync("/_content/MudBlazor/MudBlazor.min.css")).Status.Should().Be(200);
        (await Page.APIRequest.GetAsync("/_framework/blazor.web.js")).Status.Should().Be(200);
        // The page's own heading first: the layout and its scripts are in place once the circuit has rendered it.
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Customers");
        await Assertions.Expect(Page.Locator(".mud-appbar")).ToHaveCSSAsync("position", "fixed");
        (await Page.EvaluateAsync<bool>("() => typeof window.mudPopover === 'object'")).Should().BeTrue();
        await ScreenshotAsync("layout");
        ConsoleErrors.Should().BeEmpty();
    }
}
