using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Deals;

public sealed class PipelineSettingsTests(UiFixture fixture, ITestOutputHelper output) : PipelineUiTest(fixture, output)
{
    [Fact]
    public async Task AMemberSeesTheBoardButNoStageEditorAndTheEditorsPageAndTheGrainRefuseThem()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", "member-password");
        var token = await Server.TokenAsync(tenant);
        var customer = await CreateAsync(token, "/api/customers", new { name = "Lovelace Ltd" });
        await CreateAsync(token, "/api/deals", new { name = "Bernoulli numbers", customerId = customer, amount = 640m, currency = "GBP" });
        await SignInAsync(Page, member.Email, member.Password);
        await Page.GotoAsync("/pipeline");
        await WaitForInteractiveAsync(Page);

        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Pipeline", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("stage-column")).ToHaveCountAsync(6);
        await Assertions.Expect(Column("Lead").GetByTestId("deal-card")).ToContainTextAsync("Bernoulli numbers");
        await Assertions.Expect(Column("Lead").GetByTestId("stage-total")).ToHaveTextAsync("640.00 GBP");
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Edit stages" })).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Deals", Exact = true })).ToBeVisibleAsync();

        await Page.GotoAsync("/pipeline/settings");

        await Assertions.Expect(Page.GetByTestId("no-access")).ToBeVisibleAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(PathIs($"/denied?returnUrl={Uri.EscapeDataString("/pipeline/settings")}"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Table, new() { Name = "Stages" })).ToHaveCountAsync(0);
        using var refused = await Server.SendAsync(HttpMethod.Put, "/api/pipeline/stages", await Server.LoginAsync(member.Email, member.Password),
            new { stages = new[] { new { name = "Everything", kind = "open", probability = 50 } } });
        ((int)refused.StatusCode).Should().Be(403);
        (await StagesAsync(token)).Keys.Should().Equal("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost");
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AnAdminRenamesAStageRemovesOneThatHoldsADealAndPicksWhereTheDealGoes()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        var stages = await StagesAsync(token);
        var customer = await CreateAsync(token, "/api/customers", new { name = "Jacquard Looms" });
        var deal = await CreateAsync(token, "/api/deals",
            new { name = "Punched cards", customerId = customer, amount = 1200m, currency = "EUR", stageId = stages["Qualified"] });
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await Page.GotoAsync("/pipeline");
        await WaitForInteractiveAsync(Page);
        await Page.GetByRole(AriaRole.Link, new() { Name = "Edit stages" }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/pipeline/settings"));
        await WaitForInteractiveAsync(Page);
        var rows = Page.GetByTestId("stage-row");
        await Assertions.Expect(rows).ToHaveCountAsync(6);

        await Field(rows.Nth(0), "Stage name").FillAsync("Prospect");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Remove Qualified" }).ClickAsync();
        await Assertions.Expect(Page.GetByTestId("stages-removed")).ToContainTextAsync("Qualified (1 deal)");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save stages" }).ClickAsync();
        await Assertions.Expect(Page.GetByTestId("stages-move")).ToContainTextAsync("Qualified still holds deals");
        await ScreenshotAsync("where-do-the-deals-go", docsName: "pipeline-stages");
        await SelectAsync(Page, Page.GetByTestId("stages-move"), "Move their deals to", "Proposal");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Move deals and save" }).ClickAsync();

        await Assertions.Expect(Snackbar(Page, "Pipeline saved; 1 deal moved to Proposal.")).ToBeVisibleAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(5);
        await Assertions.Expect(Page.GetByTestId("stages-move")).ToHaveCountAsync(0);
        (await StagesAsync(token)).Keys.Should().Equal("Prospect", "Proposal", "Negotiation", "Won", "Lost");
        (await GetAsync(token, $"/api/deals/{deal:D}"))["stageId"]!.GetValue<Guid>().Should().Be(stages["Proposal"]);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Back to the pipeline" }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/pipeline"));
        await Assertions.Expect(Page.GetByTestId("stage-column")).ToHaveCountAsync(5);
        await Assertions.Expect(Column("Proposal").GetByTestId("deal-card")).ToContainTextAsync("Punched cards");
        await Assertions.Expect(Column("Prospect").GetByTestId("stage-count")).ToHaveTextAsync("0");
        ConsoleErrors.Should().BeEmpty();
    }
}
