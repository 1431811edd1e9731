using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Tenants;

public sealed class SuspensionTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task SuspendingATenantEndsItsAdminsOpenSession()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);
        var superAdmin = await NewPageAsync();
        await superAdmin.GotoAsync($"/login?returnUrl={Uri.EscapeDataString($"/admin/tenants/{tenant.Id}")}");
        await SignInAsync(superAdmin, Server.SuperAdminEmail, UiServer.SuperAdminPassword);
        await Assertions.Expect(superAdmin.GetByTestId("tenant-status")).ToHaveTextAsync("active");
        await WaitForInteractiveAsync(superAdmin);

        await ClickUntilVisibleAsync(superAdmin.GetByRole(AriaRole.Button, new() { Name = "Suspend", Exact = true }), Dialog(superAdmin));
        await Field(Dialog(superAdmin), "Reason").FillAsync("unpaid invoices");
        await Dialog(superAdmin).GetByRole(AriaRole.Button, new() { Name = "Suspend tenant" }).ClickAsync();

        await Assertions.Expect(superAdmin.GetByTestId("tenant-status")).ToHaveTextAsync("suspended");
        TenantsListTests.IsGreen(await superAdmin.GetByTestId("tenant-status").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"))
            .Should().BeFalse("a suspended tenant's chip is amber, not green");
        await ScreenshotAsync("suspended-tenant", superAdmin, docsName: "tenant-detail");
        (await Server.GetTenantAsync(tenant.Id))["status"]!.GetValue<string>().Should().Be("suspended");
        // The next action ends the session, unless the page's own re-check (every 2 s on this server) got there first,
        // while the super-admin's page was busy: either way the admin lands on the sign-in page, which says why.
        try
        {
            await Page.GetByRole(AriaRole.Link, new() { Name = "Users", Exact = true }).ClickAsync(new() { Timeout = 10_000 });
        }
        catch (TimeoutException) when (new Uri(Page.Url).AbsolutePath == "/login")
        {
        }

        await ArriveAtAsync(Page, PathIs("/login"));
        await Assertions.Expect(Page.GetByTestId("login-message")).ToContainTextAsync("suspended");
        await ScreenshotAsync("signed-out");
    }

    [Fact]
    public async Task AnIdleOpenPageFallsBackToSignInOnceTheTenantIsSuspended()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);

        await Server.SuspendAsync(tenant.Id, "unpaid invoices");

        // No click, no reload: the page's own periodic re-check (Shohayota:Ui:RevalidationInterval) ends the session.
        await ArriveAtAsync(Page, PathIs("/login"));
        await Assertions.Expect(Page.GetByTestId("login-message")).ToContainTextAsync("suspended");
    }

    [Fact]
    public async Task ReloadingAPageAfterTheSuspensionSaysWhyTheSessionEnded()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await Page.GotoAsync("/login?returnUrl=%2Fdenied");
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/denied"));

        await Server.SuspendAsync(tenant.Id, "unpaid invoices");
        await Page.ReloadAsync();

        await ArriveAtAsync(Page, PathIs("/login"));
        await Assertions.Expect(Page.GetByTestId("login-message")).ToContainTextAsync("suspended");
    }
}
