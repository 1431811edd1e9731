using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Contacts;

public sealed class ContactDetailTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task AMemberOpensAContactFromTheListSeesItsFieldsCustomerAndDealsAndAddsANote()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");
        var token = await Server.TokenAsync(tenant);
        var customer = await CreateAsync(token, "/api/customers", new { name = "Analytical Engines" });
        var contact = await CreateAsync(token, "/api/contacts", new
        {
            firstName = "Ada", lastName = "Lovelace", email = "ada@analytical.test", phone = "+44 20 7946 0000", title = "Analyst",
            customerId = customer, tags = new[] { "vip" }, notes = "Prefers mornings.\nNo calls on Fridays.",
        });
        await CreateAsync(token, "/api/contacts", new { firstName = "Charles", lastName = "Babbage", customerId = customer });
        await CreateAsync(token, "/api/deals", new { name = "Loom order", customerId = customer, contactIds = new[] { contact }, amount = 1200, currency = "EUR" });
        await CreateAsync(token, "/api/deals", new { name = "Without Ada", customerId = customer, amount = 5, currency = "EUR" });

        await SignInAsync(Page, member.Email, member.Password);
        await Page.GotoAsync("/contacts");
        await WaitForInteractiveAsync(Page);
        await Page.GetByRole(AriaRole.Link, new() { Name = "Ada Lovelace", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs($"/contacts/{contact:D}"));

        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Ada Lovelace", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("contact-first-name")).ToHaveTextAsync("Ada");
        await Assertions.Expect(Page.GetByTestId("contact-last-name")).ToHaveTextAsync("Lovelace");
        await Assertions.Expect(Page.GetByTestId("contact-email")).ToHaveTextAsync("ada@analytical.test");
        await Assertions.Expect(Page.GetByTestId("contact-phone")).ToHaveTextAsync("+44 20 7946 0000");
        await Assertions.Expect(Page.GetByTestId("contact-title")).ToHaveTextAsync("Analyst");
        await Assertions.Expect(Page.GetByTestId("contact-tags")).ToHaveTextAsync("vip");
        (await Page.GetByTestId("contact-notes").InnerTextAsync()).Should().Be("Prefers mornings.\nNo calls on Fridays.", "notes keep their line breaks");
        var customerLink = Page.GetByTestId("contact-customer").GetByRole(AriaRole.Link, new() { Name = "Analytical Engines" });
        await Assertions.Expect(customerLink).ToHaveAttributeAsync("href", $"/customers/{customer:D}");
        await Assertions.Expect(Page.GetByTestId("deal-row")).ToHaveCountAsync(1);
        await Assertions.Expect(Page.GetByTestId("deal-row")).ToContainTextAsync("Loom order");
        await Assertions.Expect(Page.GetByTestId("no-activities")).ToBeVisibleAsync();

        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Add note" }), Dialog(Page));
        await Field(Dialog(Page), "Subject").FillAsync("Met at the fair");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Note Met at the fair added.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("activity-row")).ToHaveCountAsync(1);
        await Assertions.Expect(Page.GetByTestId("activity-row")).ToContainTextAsync("Met at the fair");

        // The contact is on a deal and has a note now: the delete is refused, and the page says so.
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }), Dialog(Page));
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        await Assertions.Expect(Page.GetByTestId("delete-refused")).ToContainTextAsync("Ada Lovelace was not deleted");
        await Assertions.Expect(Page.GetByTestId("contact-fields")).ToBeVisibleAsync();
        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0);
        await ScreenshotAsync("contact-detail");

        // The note is about the contact and its customer (the dialog had both preset).
        using var listed = await Server.SendAsync(HttpMethod.Get, $"/api/activities?contactId={contact:D}", token);
        listed.EnsureSuccessStatusCode();
        var note = (await listed.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Single()!;
        note["subject"]!.GetValue<string>().Should().Be("Met at the fair");
        note["customerId"]!.GetValue<Guid>().Should().Be(customer);

        // The customer's page links each contact to its page.
        await customerLink.ClickAsync();
        await ArriveAtAsync(Page, PathIs($"/customers/{customer:D}"));
        await Page.GetByTestId("contact-row").GetByRole(AriaRole.Link, new() { Name = "Charles Babbage", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, new System.Text.RegularExpressions.Regex("/contacts/[0-9a-f-]{36}$"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Charles Babbage", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("no-deals")).ToBeVisibleAsync();

        // Charles is on no deal: with a note, the delete asks a second time, naming the note, and takes it with him.
        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Add note" }), Dialog(Page));
        await Field(Dialog(Page), "Subject").FillAsync("Difference engine");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Page.GetByTestId("activity-row")).ToHaveCountAsync(1);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }), Dialog(Page));
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        var cascade = Dialog(Page).Filter(new() { HasText = "Delete Charles Babbage and its 1 activity? This cannot be undone." });
        await Assertions.Expect(cascade).ToBeVisibleAsync();
        await cascade.GetByRole(AriaRole.Button, new() { Name = "Delete all" }).ClickAsync();
        // The page goes back to the list (its confirmation may not outlive the navigation): the list no longer has him.
        await ArriveAtAsync(Page, PathIs("/contacts"));
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Ada Lovelace", Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Charles Babbage", Exact = true })).ToHaveCountAsync(0);
        using var left = await Server.SendAsync(HttpMethod.Get, $"/api/activities?customerId={customer:D}", token);
        left.EnsureSuccessStatusCode();
        (await left.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(a => a!["subject"]!.GetValue<string>())
            .Should().Equal(["Met at the fair"], "Ada's note stays; Charles's went with him");
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AnotherTenantsContactOrAnUnknownIdShowsNoSuchContact()
    {
        var owner = await Server.ProvisionTenantAsync();
        var foreign = await CreateAsync(await Server.TokenAsync(owner), "/api/contacts", new { firstName = "Secret", lastName = "Agent" });
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");

        await SignInAsync(Page, member.Email, member.Password);
        await Page.GotoAsync($"/contacts/{foreign:D}");
        await Assertions.Expect(Page.GetByTestId("no-such-contact")).ToContainTextAsync("No such contact");
        await Assertions.Expect(Page.GetByText("Secret Agent")).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Edit", Exact = true })).ToHaveCountAsync(0);

        await Page.GotoAsync($"/contacts/{Guid.NewGuid():D}");
        await Assertions.Expect(Page.GetByTestId("no-such-contact")).ToContainTextAsync("No such contact");
        ConsoleErrors.Should().BeEmpty();
    }

    private async Task<Guid> CreateAsync(string token, string path, object body)
    {
        using var response = await Server.SendAsync(HttpMethod.Post, path, token, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }
}
