using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.CustomFields;

public sealed class CustomFieldUiTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task AnAdminDefinesASelectAndANumberFieldFillsThemForANewCustomerAndSeesThemOnItsPageAndInTheApi()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await Page.GotoAsync("/settings");
        await WaitForInteractiveAsync(Page);
        await Page.GetByRole(AriaRole.Link, new() { Name = "Edit custom fields" }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/settings/custom-fields"));
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(Page.GetByTestId("no-custom-fields")).ToHaveTextAsync("No custom fields for customers yet.");

        var rows = Page.GetByTestId("custom-field-row");
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Add field" }), rows.First);
        await Field(rows.Nth(0), "Label").FillAsync("Industry");
        await Assertions.Expect(Field(rows.Nth(0), "Key")).ToHaveValueAsync("industry");
        await SelectAsync(Page, rows.Nth(0), "Type", "select");
        await rows.Nth(0).GetByLabel("Required").CheckAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Add field" }).ClickAsync();
        await Field(rows.Nth(1), "Label").FillAsync("Seats");
        await SelectAsync(Page, rows.Nth(1), "Type", "number");

        // A select without options is refused beside its options, before anything is sent.
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save custom fields" }).ClickAsync();
        await Assertions.Expect(rows.Nth(0)).ToContainTextAsync("A select field has 1 to 50 different options");
        await Field(rows.Nth(0), "Options").FillAsync("Banking, Retail, Energy");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save custom fields" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Custom fields of customers saved.")).ToBeVisibleAsync();
        await Assertions.Expect(Field(rows.Nth(0), "Key")).ToHaveAttributeAsync("readonly", "");
        await ScreenshotAsync("custom-fields", docsName: "custom-fields");
        var fields = (await GetAsync(token, "/api/custom-fields/customers"))["fields"]!.AsArray();
        fields.Select(f => f!["key"]!.GetValue<string>()).Should().Equal("industry", "seats");
        fields[0]!["options"]!.AsArray().Select(o => o!.GetValue<string>()).Should().Equal("Banking", "Retail", "Energy");
        fields[0]!["required"]!.GetValue<bool>().Should().BeTrue();
        fields[1]!["type"]!.GetValue<string>().Should().Be("number");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Customers", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New customer" }), Dialog(Page));
        await Field(Dialog(Page), "Name").FillAsync("Lovelace Analytics");
        await Field(Dialog(Page), "Seats").FillAsync("25");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Dialog(Page)).ToContainTextAsync("Industry is required.");
        await SelectAsync(Page, Dialog(Page), "Industry", "Retail");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Customer Lovelace Analytics created.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Lovelace Analytics", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, new System.Text.RegularExpressions.Regex("^[^?#]*//[^/]+/customers/"));
        var id = Guid.Parse(new Uri(Page.Url).AbsolutePath["/customers/".Length..]);
        await Assertions.Expect(Page.GetByTestId("custom-field")).ToHaveTextAsync(["IndustryRetail", "Seats25"]);
        await Assertions.Expect(Page.GetByTestId("custom-field-industry")).ToHaveTextAsync("Retail");
        await Assertions.Expect(Page.GetByTestId("custom-field-seats")).ToHaveTextAsync("25");
        var customer = await GetAsync(token, $"/api/customers/{id:D}");
        customer["customFields"]!.ToJsonString().Should().Be("""{"industry":"Retail","seats":25}""");

        // Removing a field that a customer holds a value of is refused with the count, shown above the fields.
        await Page.GotoAsync("/settings/custom-fields");
        await WaitForInteractiveAsync(Page);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Remove Industry" }).ClickAsync();
        await Assertions.Expect(Page.GetByTestId("custom-fields-removed")).ToContainTextAsync("Industry");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save custom fields" }).ClickAsync();
        await Assertions.Expect(Page.GetByTestId("custom-fields-error")).ToContainTextAsync("1 customer holds values of 'industry'");
        (await GetAsync(token, "/api/custom-fields/customers"))["fields"]!.AsArray().Should().HaveCount(2);
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AMemberHasNoCustomFieldEditorAndTheirReplacementIsRefused()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");
        await SignInAsync(Page, member.Email, member.Password);
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Settings" })).ToHaveCountAsync(0);

        await Page.GotoAsync("/settings/custom-fields");

        await Assertions.Expect(Page.GetByTestId("no-access")).ToBeVisibleAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(PathIs($"/denied?returnUrl={Uri.EscapeDataString("/settings/custom-fields")}"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Save custom fields" })).ToHaveCountAsync(0);
        var memberToken = await Server.LoginAsync(member.Email, member.Password);
        (await GetAsync(memberToken, "/api/custom-fields/customers"))["fields"]!.AsArray().Should().BeEmpty("a member reads the definitions");
        using var refused = await Server.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", memberToken,
            new { fields = new[] { new { key = "industry", label = "Industry", type = "text" } } });
        ((int)refused.StatusCode).Should().Be(403);
        (await GetAsync(await Server.TokenAsync(tenant), "/api/custom-fields/customers"))["fields"]!.AsArray().Should().BeEmpty();
        ConsoleErrors.Should().BeEmpty();
    }

    private async Task<JsonObject> GetAsync(string token, string path)
    {
        using var response = await Server.SendAsync(HttpMethod.Get, path, token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }
}
