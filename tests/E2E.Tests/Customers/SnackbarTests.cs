using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Customers;

/// <summary>Snackbars confirm and go: they hide by themselves, never cover the page's actions and stay on their page.</summary>
public sealed class SnackbarTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task ASnackbarDisappearsByItselfWhileThePointerRestsOnThePagesActions()
    {
        await CreateCustomerAsync("Grace Hopper");
        var created = Snackbar(Page, "created");
        await Assertions.Expect(created).ToBeVisibleAsync();

        // Where a user goes next; a snackbar under the pointer would wait for it to leave (MudBlazor pauses on hover).
        await Page.GetByRole(AriaRole.Button, new() { Name = "New customer" }).HoverAsync(new() { Force = true });

        await Assertions.Expect(created).ToHaveCountAsync(0, new() { Timeout = 15_000 });
    }

    [Fact]
    public async Task NewCustomerIsClickableRightAfterACreate()
    {
        await CreateCustomerAsync("Katherine Johnson");
        await Assertions.Expect(Snackbar(Page, "created")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);

        // No retry and no force: Playwright refuses the click while another element would receive it.
        await Page.GetByRole(AriaRole.Button, new() { Name = "New customer" }).ClickAsync(new() { Timeout = 5_000 });

        await Assertions.Expect(Dialog(Page)).ToBeVisibleAsync();
        await Assertions.Expect(Field(Dialog(Page), "Name")).ToHaveValueAsync("");
    }

    [Fact]
    public async Task ASnackbarDoesNotFollowTheUserToAnotherPage()
    {
        await CreateCustomerAsync("Dorothy Vaughan");
        await Assertions.Expect(Snackbar(Page, "created")).ToBeVisibleAsync();

        await Page.GetByRole(AriaRole.Link, new() { Name = "Settings", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/settings"));

        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0, new() { Timeout = 2_000 });
    }

    private async Task CreateCustomerAsync(string name)
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New customer" }), Dialog(Page));
        await Field(Dialog(Page), "Name").FillAsync(name);
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
    }
}
