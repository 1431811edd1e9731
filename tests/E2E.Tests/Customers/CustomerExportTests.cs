using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Customers;

public sealed class CustomerExportTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task TenantAdminCreatesAndEditsACustomerThenExportsTheTenant()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Customers", Level = 1 })).ToBeVisibleAsync();
        await WaitForInteractiveAsync(Page);

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New customer" }), Dialog(Page));
        await Field(Dialog(Page), "Name").FillAsync("Ada Lovelace");
        await Field(Dialog(Page), "Email").FillAsync("ada@analytical.test");
        await Field(Dialog(Page), "Phone").FillAsync("+44 20 7946 0000");
        await Field(Dialog(Page), "Company").FillAsync("Analytical Engines");
        await Field(Dialog(Page), "Notes").FillAsync("Met at the Difference Engine demo.");
        await ScreenshotAsync("new-customer", docsName: "customer-dialog");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "created")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("customer-row").Filter(new() { HasText = "Ada Lovelace" })).ToHaveCountAsync(1);

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Edit Ada Lovelace" }), Dialog(Page));
        await Assertions.Expect(Field(Dialog(Page), "Name")).ToHaveValueAsync("Ada Lovelace");
        await Field(Dialog(Page), "Name").FillAsync("Ada King");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "saved")).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("customer-row").Filter(new() { HasText = "Ada King" })).ToHaveCountAsync(1);
        await Assertions.Expect(Page.GetByTestId("customer-row").Filter(new() { HasText = "Ada Lovelace" })).ToHaveCountAsync(0);
        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0);
        await ScreenshotAsync("customers", docsName: "customers");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Settings", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/settings"));
        var exportData = Page.GetByRole(AriaRole.Link, new() { Name = "Export Data" }).Or(Page.GetByRole(AriaRole.Button, new() { Name = "Export Data" }));
        var download = await Page.RunAndWaitForDownloadAsync(() => exportData.ClickAsync());
        var file = Path.Combine(Screenshots.DownloadDirectory, download.SuggestedFilename);
        await download.SaveAsAsync(file);
        await ScreenshotAsync("settings", docsName: "settings");

        download.SuggestedFilename.Should().EndWith(".json").And.Contain(tenant.Id.ToString("D"));
        var exported = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject();
        using var response = await Server.SendAsync(HttpMethod.Get, "/api/tenants/export", await Server.TokenAsync(tenant));
        response.EnsureSuccessStatusCode();
        var fromApi = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        exported.Select(p => p.Key).Should().Equal(fromApi.Select(p => p.Key));
        exported["format"]!.GetValue<string>().Should().Be(fromApi["format"]!.GetValue<string>());
        exported["tenant"]!["id"]!.GetValue<string>().Should().Be(tenant.Id.ToString("D"));
        var customers = exported["customers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        customers.Should().Equal(fromApi["customers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        customers.Should().ContainSingle().Which.Should().Be("Ada King");
        ConsoleErrors.Should().BeEmpty();
    }
}
