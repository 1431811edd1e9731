using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Support;

public sealed class SupportAccessTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task TheTenantSeesASupportSessionEndsItAndTurnsSupportAccessOff()
    {
        var tenant = await Server.ProvisionTenantAsync();
        using var users = await Server.SendAsync(HttpMethod.Get, "/api/users", await Server.TokenAsync(tenant));
        var adminId = (await users.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray()[0]!["id"]!.GetValue<string>();
        using var opened = await OpenAsync(tenant.Id, adminId, "ticket 42: the export looks empty");
        opened.StatusCode.Should().Be(HttpStatusCode.Created);
        var supportToken = (await opened.Content.ReadFromJsonAsync<JsonObject>())!["accessToken"]!.GetValue<string>();

        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        var banner = Page.GetByTestId("support-banner");
        await Assertions.Expect(banner).ToContainTextAsync(Server.SuperAdminEmail);
        await Assertions.Expect(banner).ToContainTextAsync("ticket 42: the export looks empty");

        await Page.GotoAsync("/settings");
        await WaitForInteractiveAsync(Page);
        var section = Page.GetByTestId("support-access");
        await Assertions.Expect(section.GetByTestId("support-session")).ToHaveCountAsync(1);
        await ScreenshotAsync("support-access", docsName: "support-access");
        await section.GetByTestId("end-support-session").ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Support session ended")).ToBeVisibleAsync();
        await Assertions.Expect(section.GetByTestId("end-support-session")).ToHaveCountAsync(0);
        using var refused = await Server.SendAsync(HttpMethod.Get, "/api/customers", supportToken);
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the session the tenant ended refuses its token");

        await section.GetByLabel("Allow support access").ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Support access turned off")).ToBeVisibleAsync();
        using var disabled = await OpenAsync(tenant.Id, adminId, "after the switch");
        disabled.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await disabled.Content.ReadFromJsonAsync<JsonObject>())!["type"]!.GetValue<string>()
            .Should().Be("https://shohayota.dev/problems/support-access-disabled");
        ConsoleErrors.Should().BeEmpty();
    }

    private async Task<HttpResponseMessage> OpenAsync(Guid tenant, string userId, string reason) =>
        await Server.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant}/support-sessions", await Server.SuperAdminTokenAsync(),
            new { userId, reason, minutes = 30 });
}
