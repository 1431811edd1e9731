using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Customers;

public sealed class CustomerDetailTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task AnAdminOpensACustomerEditsItAddsAContactAndSeesTheTimelineNewestFirst()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var id = await CreateAsync(await Server.TokenAsync(tenant), "/api/customers",
            new { name = "Difference Engines", email = "office@difference.test", company = "Babbage Works", tags = new[] { "vip" } });
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Difference Engines", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs($"/customers/{id:D}"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Difference Engines", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("customer-email")).ToHaveTextAsync("office@difference.test");
        await Assertions.Expect(Page.GetByTestId("customer-company")).ToHaveTextAsync("Babbage Works");
        await Assertions.Expect(Page.GetByTestId("customer-tags")).ToHaveTextAsync("vip");
        await Assertions.Expect(Page.GetByTestId("customer-version")).ToHaveTextAsync("1");
        await Assertions.Expect(Page.GetByTestId("no-contacts")).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("timeline-entry")).ToHaveCountAsync(1);
        await Assertions.Expect(Page.GetByTestId("timeline-entry").First).ToContainTextAsync($"customer.created by {tenant.AdminEmail} at ");

        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Edit", Exact = true }), Dialog(Page));
        await Assertions.Expect(Field(Dialog(Page), "Company")).ToHaveValueAsync("Babbage Works");
        await Field(Dialog(Page), "Company").FillAsync("Lovelace Analytics");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Customer Difference Engines saved.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("customer-company")).ToHaveTextAsync("Lovelace Analytics");
        await Assertions.Expect(Page.GetByTestId("customer-version")).ToHaveTextAsync("2");
        await Assertions.Expect(Page.GetByTestId("timeline-entry")).ToHaveCountAsync(2);

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New contact" }), Dialog(Page));
        await Assertions.Expect(Field(Dialog(Page), "Customer")).ToHaveValueAsync("Difference Engines");
        await Field(Dialog(Page), "First name").FillAsync("Ada");
        await Field(Dialog(Page), "Last name").FillAsync("Lovelace");
        await Field(Dialog(Page), "Email").FillAsync("ada@difference.test");
        await Field(Dialog(Page), "Title").FillAsync("Analyst");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Contact Ada Lovelace created.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        var row = Page.GetByTestId("contact-row").Filter(new() { HasText = "Ada Lovelace" });
        await Assertions.Expect(row).ToContainTextAsync("ada@difference.test");
        await Assertions.Expect(row).ToContainTextAsync("Analyst");

        var timeline = Page.GetByTestId("timeline-entry");
        await Assertions.Expect(timeline).ToHaveCountAsync(3);
        await Assertions.Expect(timeline.Nth(0)).ToContainTextAsync($"contact.created Ada Lovelace by {tenant.AdminEmail} at ");
        await Assertions.Expect(timeline.Nth(1)).ToContainTextAsync($"customer.updated by {tenant.AdminEmail} at ");
        await Assertions.Expect(timeline.Nth(2)).ToContainTextAsync("customer.created");
        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0);
        // The README's customer page (with deals) is DealUiTests' screenshot.
        await ScreenshotAsync("customer-detail");

        // The contact really is the customer's: the API lists it under the customer.
        using var contacts = await Server.SendAsync(HttpMethod.Get, $"/api/contacts?customerId={id:D}", await Server.TokenAsync(tenant));
        contacts.EnsureSuccessStatusCode();
        (await contacts.Content.ReadAsStringAsync()).Should().Contain("Lovelace");
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AMemberOpeningAnotherTenantsCustomerOrARandomIdSeesNoSuchCustomer()
    {
        var owner = await Server.ProvisionTenantAsync();
        var foreign = await CreateAsync(await Server.TokenAsync(owner), "/api/customers", new { name = "Foreign Secrets Ltd", company = "Hidden" });
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");

        // Signed in the way the other tests do (to the landing page), then the foreign id typed as a URL.
        await SignInAsync(Page, member.Email, member.Password);
        await Page.GotoAsync($"/customers/{foreign:D}");
        await Assertions.Expect(Page.GetByTestId("no-such-customer")).ToContainTextAsync("No such customer");
        await Assertions.Expect(Page.GetByText("Foreign Secrets Ltd")).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByText("Hidden")).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Edit", Exact = true })).ToHaveCountAsync(0);

        await Page.GotoAsync($"/customers/{Guid.NewGuid():D}");
        await Assertions.Expect(Page.GetByTestId("no-such-customer")).ToContainTextAsync("No such customer");
        await ScreenshotAsync("no-such-customer");
        ConsoleErrors.Should().BeEmpty();
    }

    private async Task<Guid> CreateAsync(string token, string path, object body)
    {
        using var response = await Server.SendAsync(HttpMethod.Post, path, token, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }
}
