using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Auth;

public sealed class ApiKeyUiTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task ATenantAdminCreatesAKeyInSettingsUsesItOnTheApiAndRevokesIt()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await Page.GotoAsync("/settings");
        await WaitForInteractiveAsync(Page);
        var panel = Page.GetByTestId("api-keys");
        await Assertions.Expect(panel.GetByTestId("no-api-keys")).ToBeVisibleAsync();

        await Field(Page, "Key name").FillAsync("nightly sync");
        await Field(Page, "Requests a minute (optional)").FillAsync("120");
        await panel.GetByTestId("create-api-key").ClickAsync();
        await Assertions.Expect(panel.GetByTestId("new-api-key-secret")).ToContainTextAsync("shy_");
        var secret = (await panel.GetByTestId("new-api-key-secret").InnerTextAsync()).Trim();
        await Assertions.Expect(panel.GetByTestId("api-key")).ToHaveCountAsync(1);
        await Assertions.Expect(panel.GetByTestId("api-key-rate-limit")).ToHaveTextAsync("120 a minute");
        await ScreenshotAsync("api-key-created");
        using (var used = await Server.SendAsync(HttpMethod.Get, "/api/customers", secret))
        {
            used.StatusCode.Should().Be(HttpStatusCode.OK, "the key shown once works on the API");
        }

        await panel.GetByTestId("revoke-api-key").ClickAsync();
        await Assertions.Expect(Snackbar(Page, "revoked")).ToBeVisibleAsync();
        await Assertions.Expect(panel.GetByTestId("api-key-status")).ToHaveTextAsync("revoked");
        using var refused = await Server.SendAsync(HttpMethod.Get, "/api/customers", secret);
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task ASuperAdminSeesATenantsKeysInTheConsoleAndRevokesOne()
    {
        var tenant = await Server.ProvisionTenantAsync();
        using var created = await Server.SendAsync(HttpMethod.Post, "/api/api-keys", await Server.TokenAsync(tenant), new { name = "erp sync", role = "member" });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var secret = (await created.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["secret"]!.GetValue<string>();

        await Page.GotoAsync($"/login?returnUrl={Uri.EscapeDataString($"/admin/tenants/{tenant.Id}")}");
        await SignInAsync(Page, Server.SuperAdminEmail, UiServer.SuperAdminPassword);
        await WaitForInteractiveAsync(Page);
        await Page.GetByRole(AriaRole.Tab, new() { Name = "Access" }).ClickAsync();
        var row = Page.GetByTestId("api-key").Filter(new() { HasText = "erp sync" });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();

        await Assertions.Expect(Snackbar(Page, "revoked")).ToBeVisibleAsync();
        await Assertions.Expect(row.GetByTestId("api-key-status")).ToHaveTextAsync("revoked");
        using var refused = await Server.SendAsync(HttpMethod.Get, "/api/customers", secret);
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        ConsoleErrors.Should().BeEmpty();
    }
}
