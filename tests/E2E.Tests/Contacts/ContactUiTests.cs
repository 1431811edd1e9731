using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Contacts;

public sealed class ContactUiTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task ATenantAdminLinksAContactToACustomerEditsItAndDeletesBothWithTheCustomer()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New customer" }), Dialog(Page));
        await Field(Dialog(Page), "Name").FillAsync("Analytical Engines");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Page.GetByTestId("customer-row").Filter(new() { HasText = "Analytical Engines" })).ToHaveCountAsync(1);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Contacts", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/contacts"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Contacts", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("no-contacts")).ToHaveTextAsync("No contacts yet.");
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New contact" }), Dialog(Page));
        await Field(Dialog(Page), "First name").FillAsync("Ada");
        await Field(Dialog(Page), "Last name").FillAsync("Lovelace");
        await Field(Dialog(Page), "Email").FillAsync("ada@analytical.test");
        await Field(Dialog(Page), "Title").FillAsync("Analyst");
        await Field(Dialog(Page), "Customer").FillAsync("Analytical");
        await Page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = "Analytical Engines" }).ClickAsync();
        await Assertions.Expect(Field(Dialog(Page), "Customer")).ToHaveValueAsync("Analytical Engines");
        await ScreenshotAsync("new-contact", docsName: "contact-dialog");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Contact Ada Lovelace created.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        await Assertions.Expect(ContactRow("Ada Lovelace")).ToContainTextAsync("Analytical Engines");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Customers", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/customers"));
        await Page.GetByRole(AriaRole.Link, new() { Name = "Contacts of Analytical Engines" }).ClickAsync();
        await ArriveAtAsync(Page, new System.Text.RegularExpressions.Regex("/contacts\\?customerId="));
        await Assertions.Expect(Field(Page, "Filter by customer")).ToHaveValueAsync("Analytical Engines");
        await Assertions.Expect(Page.GetByTestId("contact-row")).ToHaveCountAsync(1);
        await Assertions.Expect(ContactRow("Ada Lovelace")).ToContainTextAsync("Analyst");

        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Edit Ada Lovelace" }), Dialog(Page));
        await Assertions.Expect(Field(Dialog(Page), "Customer")).ToHaveValueAsync("Analytical Engines");
        await Field(Dialog(Page), "Title").FillAsync("Chief Analyst");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "saved")).ToBeVisibleAsync();
        await Assertions.Expect(ContactRow("Ada Lovelace")).ToContainTextAsync("Chief Analyst");
        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0);
        await ScreenshotAsync("contacts-of-a-customer", docsName: "contacts");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Customers", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/customers"));
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Delete Analytical Engines" }), Dialog(Page));
        await Assertions.Expect(Dialog(Page)).ToContainTextAsync("Delete Analytical Engines? This cannot be undone.");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        var cascade = Dialog(Page).Filter(new() { HasText = "Delete Analytical Engines and its 1 contact? This cannot be undone." });
        await Assertions.Expect(cascade).ToBeVisibleAsync();
        await ScreenshotAsync("delete-with-contacts");
        await cascade.GetByRole(AriaRole.Button, new() { Name = "Delete all" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Customer Analytical Engines and its 1 contact deleted.")).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("customer-row")).ToHaveCountAsync(0);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Contacts", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/contacts"));
        await Assertions.Expect(Page.GetByTestId("no-contacts")).ToHaveTextAsync("No contacts yet.");
        await Assertions.Expect(Page.GetByTestId("contact-row")).ToHaveCountAsync(0);
        using var contacts = await Server.SendAsync(HttpMethod.Get, "/api/contacts", await Server.TokenAsync(tenant));
        contacts.EnsureSuccessStatusCode();
        (await contacts.Content.ReadAsStringAsync()).Should().NotContain("Lovelace", "the cascade removed the contact, not just the row on the page");
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AMemberFiltersContactsByACustomerPickedBySearchAndByNameAndTheFilterStaysInTheAddress()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");
        var token = await Server.TokenAsync(tenant);
        var babbage = await CreateAsync(token, "/api/customers", new { name = "Babbage & Co" });
        var hopper = await CreateAsync(token, "/api/customers", new { name = "Hopper Navy Yard" });
        await CreateAsync(token, "/api/contacts", new { firstName = "Charles", lastName = "Babbage", customerId = babbage });
        await CreateAsync(token, "/api/contacts", new { firstName = "Grace", lastName = "Hopper", email = "grace@navy.test", customerId = hopper });
        await CreateAsync(token, "/api/contacts", new { lastName = "Nobody" });
        // Signed in the way most tests do (to the landing page), then the page opened: waiting for a return URL's redirect
        // right after the sign-in timed out once on a cold server.
        await SignInAsync(Page, member.Email, member.Password);
        await Page.GotoAsync("/contacts");
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(Page.GetByTestId("contact-row")).ToHaveCountAsync(3);
        await Assertions.Expect(ContactRow("Grace Hopper")).ToContainTextAsync("Hopper Navy Yard");

        await Field(Page, "Filter by customer").FillAsync("navy");
        await Page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = "Hopper Navy Yard" }).ClickAsync();

        await ArriveAtAsync(Page, new System.Text.RegularExpressions.Regex($"/contacts\\?customerId={hopper}$"));
        await Assertions.Expect(Page.GetByTestId("contact-row")).ToHaveCountAsync(1);
        await Assertions.Expect(ContactRow("Grace Hopper")).ToHaveCountAsync(1);

        await Field(Page, "Filter by customer").ClearAsync();
        await Page.Keyboard.PressAsync("Escape");
        await ArriveAtAsync(Page, PathIs("/contacts"));
        await Assertions.Expect(Page.GetByTestId("contact-row")).ToHaveCountAsync(3);
        await Field(Page, "Search").FillAsync("grace@");
        await Assertions.Expect(Page.GetByTestId("contact-row")).ToHaveCountAsync(1);
        await Assertions.Expect(ContactRow("Grace Hopper")).ToHaveCountAsync(1);

        await Page.SetViewportSizeAsync(375, 740);
        await Assertions.Expect(ContactRow("Grace Hopper")).ToBeVisibleAsync();
        (await Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")).Should().BeLessThanOrEqualTo(375 + 1,
            "the page fits a narrow screen (the table drops its secondary columns)");
        await ScreenshotAsync("narrow-contacts");
        ConsoleErrors.Should().BeEmpty();
    }

    private ILocator ContactRow(string name) => Page.GetByTestId("contact-row").Filter(new() { HasText = name });

    private async Task<Guid> CreateAsync(string token, string path, object body)
    {
        using var response = await Server.SendAsync(HttpMethod.Post, path, token, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }
}
