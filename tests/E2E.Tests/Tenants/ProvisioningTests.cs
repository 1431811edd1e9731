using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Tenants;

public sealed class ProvisioningTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task SuperAdminProvisionsATenantFromTheSuperAdminPage()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var name = $"New Company {suffix}";
        await SignInAsync(Page, Server.SuperAdminEmail, UiServer.SuperAdminPassword);
        await ArriveAtAsync(Page, PathIs("/admin/tenants"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Tenants", Level = 1 })).ToBeVisibleAsync();
        await WaitForInteractiveAsync(Page);
        await ScreenshotAsync("tenants");

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Provision New Tenant" }), Dialog(Page));
        var dialog = Dialog(Page);
        await Field(dialog, "Name").FillAsync(name);
        await Field(dialog, "Contact email").FillAsync($"contact@company-{suffix}.test");
        await Field(dialog, "Admin name").FillAsync("Admin User");
        await Field(dialog, "Admin email").FillAsync($"admin@company-{suffix}.test");
        await Field(dialog, "Admin password").FillAsync("secure_password");
        await SelectAsync(Page, dialog, "Plan", "pro");
        await ScreenshotAsync("provision-dialog", docsName: "provision-tenant");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Provision", Exact = true }).ClickAsync();

        await Assertions.Expect(Snackbar(Page, "provisioned")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        await Field(Page, "Search").FillAsync(name);
        var row = Page.GetByTestId("tenant-row").Filter(new() { HasText = name });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await ScreenshotAsync("provisioned");
        var href = await row.GetByRole(AriaRole.Link, new() { Name = name }).GetAttributeAsync("href");
        href.Should().MatchRegex("^/admin/tenants/[0-9a-f-]{36}$");
        var tenant = await Server.GetTenantAsync(Guid.Parse(href!["/admin/tenants/".Length..]));
        tenant["name"]!.GetValue<string>().Should().Be(name);
        tenant["plan"]!.GetValue<string>().Should().Be("pro");
        tenant["status"]!.GetValue<string>().Should().Be("active");
        (await Server.LoginAsync($"admin@company-{suffix}.test", "secure_password")).Should().NotBeEmpty();
        ConsoleErrors.Should().BeEmpty();
    }
}
