using System.Text;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Imports;

public sealed class ImportUiTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    private const string BadFile = """
        name,email,company,source
        Ada Lovelace,ada@engines.test,Analytical Engines,fair
        Charles Babbage,charles-at-engines.test,Analytical Engines,fair
        Grace Hopper,grace@navy.test,Navy,web
        ,edsger@eindhoven.test,Eindhoven,web

        """;

    private const string FixedFile = """
        name,email,company,source
        Ada Lovelace,ada@engines.test,Analytical Engines,fair
        Charles Babbage,charles@engines.test,Analytical Engines,fair
        Grace Hopper,grace@navy.test,Navy,web
        Edsger Dijkstra,edsger@eindhoven.test,Eindhoven,web

        """;

    private static readonly string[] Names = ["Ada Lovelace", "Charles Babbage", "Grace Hopper", "Edsger Dijkstra"];

    [Fact]
    public async Task ATenantAdminSeesTwoBadRowsInTheDryRunFixesThemAndImports()
    {
        var tenant = await Server.ProvisionTenantAsync();
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await Page.GetByRole(AriaRole.Link, new() { Name = "Import", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/import"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Import", Level = 1 })).ToBeVisibleAsync();
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(Page.GetByRole(AriaRole.Radio, new() { Name = "Customers" })).ToBeCheckedAsync();

        await ChooseFileAsync("customers.csv", BadFile);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Check file" }).ClickAsync();

        await Assertions.Expect(Page.GetByTestId("import-check-errors")).ToContainTextAsync("2 errors");
        var errors = Page.GetByTestId("import-error");
        await Assertions.Expect(errors).ToHaveCountAsync(2);
        await Assertions.Expect(errors.Nth(0).GetByTestId("import-error-row")).ToHaveTextAsync("3");
        await Assertions.Expect(errors.Nth(0).GetByTestId("import-error-column")).ToHaveTextAsync("email");
        await Assertions.Expect(errors.Nth(0).GetByTestId("import-error-message")).ToContainTextAsync("not a valid e-mail address");
        await Assertions.Expect(errors.Nth(1).GetByTestId("import-error-row")).ToHaveTextAsync("5");
        await Assertions.Expect(errors.Nth(1).GetByTestId("import-error-column")).ToHaveTextAsync("name");
        await Assertions.Expect(errors.Nth(1).GetByTestId("import-error-message")).ToContainTextAsync("name is required");
        await Assertions.Expect(Page.GetByRole(AriaRole.Table, new() { Name = "Errors by row" })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("import-rows")).ToHaveTextAsync("4");
        await Assertions.Expect(Page.GetByTestId("import-column")).ToHaveCountAsync(3);
        await Assertions.Expect(Page.GetByTestId("import-ignored-column")).ToContainTextAsync("source");
        await Assertions.Expect(Page.GetByTestId("import-run")).ToHaveCountAsync(0);
        await ScreenshotAsync("dry-run-with-errors", docsName: "import");

        await ChooseFileAsync("customers-fixed.csv", FixedFile);
        await Assertions.Expect(Page.GetByTestId("import-step-check")).ToHaveCountAsync(0);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Check file" }).ClickAsync();

        await Assertions.Expect(Page.GetByTestId("import-check-ok")).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("import-error")).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("import-would-create")).ToHaveTextAsync("4");
        await ScreenshotAsync("dry-run-clean");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Import 4 rows" }).ClickAsync();

        await Assertions.Expect(Page.GetByTestId("import-result")).ToHaveTextAsync("Imported: 4 created, 0 updated, 0 skipped.");
        await Assertions.Expect(Page.GetByTestId("import-id")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9a-f-]{36}$"));
        await Assertions.Expect(Page.GetByTestId("import-run")).ToHaveCountAsync(0);
        await ScreenshotAsync("imported");
        await Page.GetByRole(AriaRole.Link, new() { Name = "Open customers" }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/customers"));
        foreach (var name in Names)
        {
            await Assertions.Expect(Page.GetByTestId("customer-row").Filter(new() { HasText = name })).ToHaveCountAsync(1);
        }

        using var customers = await Server.SendAsync(HttpMethod.Get, "/api/customers", await Server.TokenAsync(tenant));
        customers.EnsureSuccessStatusCode();
        var listed = await customers.Content.ReadAsStringAsync();
        listed.Should().ContainAll(Names).And.Contain("charles@engines.test").And.NotContain("charles-at-engines.test");
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AMemberHasNoImportEntryAndNoAccessToThePage()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");
        await SignInAsync(Page, member.Email, member.Password);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Customers", Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Import", Exact = true })).ToHaveCountAsync(0);

        await Page.GotoAsync("/import");

        await Assertions.Expect(Page.GetByTestId("no-access")).ToBeVisibleAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(PathIs($"/denied?returnUrl={Uri.EscapeDataString("/import")}"));
    }

    private async Task ChooseFileAsync(string name, string text)
    {
        // MudFileUpload adds a fresh input after each choice (the button opens the newest one).
        await Page.GetByTestId("import-file").Last.SetInputFilesAsync(new FilePayload { Name = name, MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(text) });
        await Assertions.Expect(Page.GetByTestId("import-file-name")).ToContainTextAsync(name);
    }
}
