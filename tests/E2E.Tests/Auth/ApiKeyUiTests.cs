using System.Net;
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
        await Page.WaitForURLAsync(PathIs("/customers"));
        await Page.GotoAsync("/settings");
        await WaitForInteractiveAsync(Page);
        var panel = Page.GetByTestId("api-keys");
        await Assertions.Expect(panel.GetByTestId("no-api-keys")).ToBeVisibleAsync();

        await Field(Page, "Key name").FillAsync("nightly sync");
        await panel.GetByTestId("create-api-key").ClickAsync();
        await Assertions.Expect(panel.GetByTestId("new-api-key-secret")).ToContainTextAsync("shy_");
        var secret = (await panel.GetByTestId("new-api-key-secret").InnerTextAsync()).Trim();
        await Assertions.Expect(panel.GetByTestId("api-key")).ToHaveCountAsync(1);
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
}
