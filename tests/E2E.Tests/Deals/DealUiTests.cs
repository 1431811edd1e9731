using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Deals;

public sealed class DealUiTests(UiFixture fixture, ITestOutputHelper output) : PipelineUiTest(fixture, output)
{
    [Fact]
    public async Task AnAdminCreatesACustomerAContactAndADealThenDragsTheDealToWonAndTheTimelineShowsTheMove()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        var stages = await StagesAsync(token);
        // Other deals of another customer, set up over the API: the board has more than the one under test.
        var navy = await CreateAsync(token, "/api/customers", new { name = "Hopper Navy Yard" });
        await CreateAsync(token, "/api/deals", new { name = "Compiler licence", customerId = navy, amount = 48000m, currency = "USD", stageId = stages["Proposal"] });
        await CreateAsync(token, "/api/deals", new { name = "COBOL training", customerId = navy, amount = 7200m, currency = "USD", stageId = stages["Qualified"] });
        await CreateAsync(token, "/api/deals", new { name = "Mark I upkeep", customerId = navy, amount = 3150.75m, currency = "EUR", stageId = stages["Negotiation"] });
        await CreateAsync(token, "/api/deals", new { name = "Punch cards", customerId = navy, amount = 90m, currency = "USD", stageId = stages["Lost"] });
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await Page.GotoAsync("/customers");
        await WaitForInteractiveAsync(Page);

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New customer" }), Dialog(Page));
        await Field(Dialog(Page), "Name").FillAsync("Analytical Engines");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        await Page.GetByRole(AriaRole.Link, new() { Name = "Analytical Engines", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, new System.Text.RegularExpressions.Regex("/customers/[0-9a-f-]{36}$"));
        var customerPage = new Uri(Page.Url).AbsolutePath;
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Analytical Engines", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("no-deals")).ToBeVisibleAsync();
        await WaitForInteractiveAsync(Page);

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New contact" }), Dialog(Page));
        await Field(Dialog(Page), "First name").FillAsync("Ada");
        await Field(Dialog(Page), "Last name").FillAsync("Lovelace");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Contact Ada Lovelace created.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "New deal" }), Dialog(Page));
        await Assertions.Expect(Field(Dialog(Page), "Customer")).ToHaveValueAsync("Analytical Engines");
        await Field(Dialog(Page), "Name").FillAsync("Difference engine No. 2");
        await Field(Dialog(Page), "Amount").FillAsync("12500.5");
        await Field(Dialog(Page), "Currency").FillAsync("EUR");
        await Field(Dialog(Page), "Expected close date").FillAsync("2027-03-31");
        await Field(Dialog(Page), "Contacts").ClickAsync();
        await Page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = "Ada Lovelace" }).ClickAsync();
        // The multi-select stays open for more: a click on the dialog's title (through the list's overlay, if any) closes it.
        var title = await Dialog(Page).GetByRole(AriaRole.Heading, new() { Name = "New deal" }).BoundingBoxAsync();
        await Page.Mouse.ClickAsync(title!.X + 5, title.Y + 5);
        await Assertions.Expect(Page.Locator(".mud-popover-open .mud-list-item")).ToHaveCountAsync(0);
        await Assertions.Expect(Field(Dialog(Page), "Contacts")).ToHaveValueAsync("Ada Lovelace");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Deal Difference engine No. 2 created.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        var dealRow = Page.GetByTestId("deal-row").Filter(new() { HasText = "Difference engine No. 2" });
        await Assertions.Expect(dealRow.GetByTestId("deal-amount")).ToHaveTextAsync("12,500.50 EUR");
        await Assertions.Expect(dealRow.GetByTestId("deal-stage")).ToHaveTextAsync("Lead");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Pipeline", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/pipeline"));
        await WaitForInteractiveAsync(Page);
        var won = Column("Won");
        var lead = Column("Lead");
        await Assertions.Expect(Page.GetByTestId("stage-column")).ToHaveCountAsync(6);
        await Assertions.Expect(won.GetByTestId("stage-count")).ToHaveTextAsync("0");
        await Assertions.Expect(won.GetByTestId("stage-total")).ToHaveCountAsync(0);
        await Assertions.Expect(lead.GetByTestId("stage-count")).ToHaveTextAsync("1");
        await Assertions.Expect(lead.GetByTestId("stage-total")).ToHaveTextAsync("12,500.50 EUR");
        var card = Page.GetByTestId("deal-card").Filter(new() { HasText = "Difference engine No. 2" });
        await Assertions.Expect(lead.GetByTestId("deal-card")).ToHaveCountAsync(1);
        await Assertions.Expect(card.GetByTestId("deal-card-customer")).ToHaveTextAsync("Analytical Engines");
        await Assertions.Expect(card.GetByTestId("deal-card-amount")).ToHaveTextAsync("12,500.50 EUR");

        await card.DragToAsync(won.GetByTestId("stage-drop"));

        await Assertions.Expect(Snackbar(Page, "Difference engine No. 2 moved to Won.")).ToBeVisibleAsync();
        await Assertions.Expect(won.GetByTestId("stage-count")).ToHaveTextAsync("1");
        await Assertions.Expect(won.GetByTestId("stage-total")).ToHaveTextAsync("12,500.50 EUR");
        await Assertions.Expect(won.GetByTestId("deal-card")).ToHaveCountAsync(1);
        await Assertions.Expect(lead.GetByTestId("stage-count")).ToHaveTextAsync("0");
        await Assertions.Expect(lead.GetByTestId("deal-card")).ToHaveCountAsync(0);
        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0);
        await ScreenshotAsync("pipeline", docsName: "pipeline");

        // The move is the grain's, not the page's: the API's pipeline counts it in Won with the exact amount.
        var pipeline = await GetAsync(token, "/api/pipeline");
        var wonStage = pipeline["stages"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == "Won")!;
        wonStage["count"]!.GetValue<int>().Should().Be(1);
        wonStage["totals"]!.AsArray().Single()!["amount"]!.GetValue<decimal>().Should().Be(12500.5m);

        await Page.GotoAsync(customerPage);
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(dealRow.GetByTestId("deal-stage")).ToHaveTextAsync("Won");
        var timeline = Page.GetByTestId("timeline-entry");
        await Assertions.Expect(timeline.Nth(0)).ToContainTextAsync($"deal.stage_changed Difference engine No. 2 (Lead → Won) by {tenant.AdminEmail} at ");
        await Assertions.Expect(timeline.Nth(1)).ToContainTextAsync("deal.created Difference engine No. 2");
        await Assertions.Expect(timeline.Nth(2)).ToContainTextAsync("contact.created Ada Lovelace");
        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0);
        await ScreenshotAsync("customer-detail", docsName: "customer-detail");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Customers", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/customers"));
        await WaitForInteractiveAsync(Page);
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Delete Analytical Engines" }), Dialog(Page));
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        var cascade = Dialog(Page).Filter(new() { HasText = "Delete Analytical Engines and its 1 contact and 1 deal? This cannot be undone." });
        await Assertions.Expect(cascade).ToBeVisibleAsync();
        await cascade.GetByRole(AriaRole.Button, new() { Name = "Delete all" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Customer Analytical Engines and its 1 contact and 1 deal deleted.")).ToBeVisibleAsync();
        (await GetAsync(token, "/api/pipeline"))["stages"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == "Won")!["count"]!.GetValue<int>()
            .Should().Be(0, "the deal went with its customer");
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task TheMoveMenuMovesADealWithoutAMouseAndAStaleCardIsReloadedWithAWarning()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        var stages = await StagesAsync(token);
        var customer = await CreateAsync(token, "/api/customers", new { name = "Babbage & Co" });
        var deal = await CreateAsync(token, "/api/deals", new { name = "Engine parts", customerId = customer, amount = 99.99m, currency = "GBP" });
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await Page.GotoAsync("/pipeline");
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(Column("Lead").GetByTestId("deal-card")).ToHaveCountAsync(1);

        // Someone else moves the deal after the board was read: the board's version is stale.
        using (var moved = await Server.SendAsync(HttpMethod.Post, $"/api/deals/{deal:D}/stage", token, new { stageId = stages["Qualified"] }))
        {
            moved.EnsureSuccessStatusCode();
        }

        await MoveByKeyboardAsync("Engine parts", "Move to Proposal");

        await Assertions.Expect(Snackbar(Page, "Engine parts was changed in the meantime by someone else and was not moved.")).ToBeVisibleAsync();
        await Assertions.Expect(Column("Qualified").GetByTestId("deal-card")).ToHaveCountAsync(1);
        await Assertions.Expect(Column("Qualified").GetByTestId("stage-count")).ToHaveTextAsync("1");
        await Assertions.Expect(Column("Lead").GetByTestId("stage-count")).ToHaveTextAsync("0");
        await Assertions.Expect(Column("Proposal").GetByTestId("stage-count")).ToHaveTextAsync("0");

        await MoveByKeyboardAsync("Engine parts", "Move to Proposal");

        await Assertions.Expect(Snackbar(Page, "Engine parts moved to Proposal.")).ToBeVisibleAsync();
        await Assertions.Expect(Column("Proposal").GetByTestId("stage-count")).ToHaveTextAsync("1");
        await Assertions.Expect(Column("Proposal").GetByTestId("stage-total")).ToHaveTextAsync("99.99 GBP");
        await Assertions.Expect(Column("Qualified").GetByTestId("stage-count")).ToHaveTextAsync("0");
        (await GetAsync(token, $"/api/deals/{deal:D}"))["stageId"]!.GetValue<Guid>().Should().Be(stages["Proposal"]);
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AColumnShowsItsFirstFiftyCardsAndItsMoreLinkListsAllTheStagesDealsWhereOneIsDeleted()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        var stages = await StagesAsync(token);
        var customer = await CreateAsync(token, "/api/customers", new { name = "Many Deals Inc" });
        for (var i = 1; i <= 52; i++)
        {
            await CreateAsync(token, "/api/deals", new { name = $"Deal {i:00}", customerId = customer, amount = 1.25m, currency = "CHF" });
        }

        await CreateAsync(token, "/api/deals", new { name = "Won already", customerId = customer, amount = 5m, currency = "CHF", stageId = stages["Won"] });
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await Page.GotoAsync("/pipeline");
        await WaitForInteractiveAsync(Page);

        var lead = Column("Lead");
        await Assertions.Expect(lead.GetByTestId("stage-count")).ToHaveTextAsync("52");
        await Assertions.Expect(lead.GetByTestId("stage-total")).ToHaveTextAsync("65.00 CHF");
        await Assertions.Expect(lead.GetByTestId("deal-card")).ToHaveCountAsync(50);
        await Assertions.Expect(lead.GetByTestId("deal-card").First).ToContainTextAsync("Deal 52");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Collapse Won" }).ClickAsync();
        await Assertions.Expect(Column("Won").GetByTestId("deal-card")).ToHaveCountAsync(0);
        await Assertions.Expect(Column("Won").GetByTestId("stage-count")).ToHaveTextAsync("1");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Expand Won" }).ClickAsync();
        await Assertions.Expect(Column("Won").GetByTestId("deal-card")).ToHaveCountAsync(1);

        await lead.GetByTestId("stage-more").ClickAsync();

        await ArriveAtAsync(Page, new System.Text.RegularExpressions.Regex($"/deals\\?stage={stages["Lead"]:D}$"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Deals", Level = 1 })).ToBeVisibleAsync();
        var rows = Page.GetByTestId("deal-row");
        await Assertions.Expect(rows).ToHaveCountAsync(25);
        await WaitForInteractiveAsync(Page);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Load more" }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(50);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Load more" }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(52);
        await Assertions.Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Load more" })).ToHaveCountAsync(0);
        await Assertions.Expect(rows.Filter(new() { HasText = "Won already" })).ToHaveCountAsync(0);
        await Assertions.Expect(rows.Last).ToContainTextAsync("Deal 01");
        await Assertions.Expect(rows.Last.GetByTestId("deal-amount")).ToHaveTextAsync("1.25 CHF");

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Delete Deal 01" }), Dialog(Page));
        await Assertions.Expect(Dialog(Page)).ToContainTextAsync("Delete Deal 01? This cannot be undone.");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Deal Deal 01 deleted.")).ToBeVisibleAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(51);

        await SelectAsync(Page, Page.Locator("body"), "Filter by status", "won");
        await ArriveAtAsync(Page, new System.Text.RegularExpressions.Regex("status=won"));
        await Assertions.Expect(rows).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("no-deals")).ToHaveTextAsync("No deal matches.");
        var pipeline = (await GetAsync(token, "/api/pipeline"))["stages"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == "Lead")!;
        pipeline["count"]!.GetValue<int>().Should().Be(51, "the delete reached the grain");
        ConsoleErrors.Should().BeEmpty();
    }

    /// <summary>Opens the card's move menu from the keyboard, walks down to <paramref name="item"/> and picks it.</summary>
    private async Task MoveByKeyboardAsync(string deal, string item)
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = $"Move {deal} to…" }).FocusAsync();
        await Page.Keyboard.PressAsync("Enter");
        var items = Page.Locator(".mud-popover-open .mud-menu-item");
        await Assertions.Expect(items.First).ToBeVisibleAsync();
        var names = (await items.AllTextContentsAsync()).Select(t => t.Trim()).ToList();
        names.Should().Contain(item);

        // The menu moves the focus a moment after its items show and after each key; an early Enter closes it unused.
        await Assertions.Expect(items.First).ToBeFocusedAsync();
        for (var i = 1; i <= names.IndexOf(item); i++)
        {
            await Page.Keyboard.PressAsync("ArrowDown");
            await Assertions.Expect(items.Nth(i)).ToBeFocusedAsync();
        }

        await Page.Keyboard.PressAsync("Enter");
    }
}
