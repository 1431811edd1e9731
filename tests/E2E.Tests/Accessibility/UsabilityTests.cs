using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Accessibility;

/// <summary>The "usable from the keyboard, labelled form fields, works on a narrow (mobile) screen".</summary>
public sealed class UsabilityTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task SignInAndCreatingACustomerWorkFromTheKeyboardAlone()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await Page.GotoAsync("/login");

        // The e-mail field has the focus on arrival; Tab moves on, Enter submits.
        await Page.Keyboard.TypeAsync(tenant.AdminEmail);
        await Page.Keyboard.PressAsync("Tab");
        await Page.Keyboard.TypeAsync(tenant.AdminPassword);
        await Page.Keyboard.PressAsync("Enter");
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);

        var newCustomer = Page.GetByRole(AriaRole.Button, new() { Name = "New customer" });
        for (var tries = 0; tries < 30 && !await Dialog(Page).IsVisibleAsync(); tries++)
        {
            await newCustomer.FocusAsync();
            await Page.Keyboard.PressAsync("Enter");
            await Page.WaitForTimeoutAsync(500);
        }

        await Assertions.Expect(Dialog(Page)).ToBeVisibleAsync();
        await Field(Dialog(Page), "Name").FocusAsync();
        await Page.Keyboard.TypeAsync("Keyboard Ltd");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).FocusAsync();
        await Page.Keyboard.PressAsync("Enter");

        await Assertions.Expect(Page.GetByTestId("customer-row").Filter(new() { HasText = "Keyboard Ltd" })).ToBeVisibleAsync();
        await ScreenshotAsync("created-from-the-keyboard");
    }

    [Fact]
    public async Task OnANarrowScreenTheMenuFoldsAwayAndStillLeadsEverywhere()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await Page.SetViewportSizeAsync(375, 740);
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);
        var users = Page.GetByRole(AriaRole.Link, new() { Name = "Users", Exact = true });

        await Assertions.Expect(users).Not.ToBeInViewportAsync();
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Toggle navigation" }), users);
        await ScreenshotAsync("narrow-menu-open");
        await users.ClickAsync();

        await ArriveAtAsync(Page, PathIs("/users"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Users");
        await Assertions.Expect(users).Not.ToBeInViewportAsync();
        (await Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")).Should().BeLessThanOrEqualTo(375 + 1,
            "the page fits the screen's width (wide tables scroll inside their own box)");
        await ScreenshotAsync("narrow-users");
    }
}
