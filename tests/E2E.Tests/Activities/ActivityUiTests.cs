using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Activities;

public sealed class ActivityUiTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    private const string MemberPassword = "member-password";

    [Fact]
    public async Task AMemberAddsANoteAndAnOverdueTaskOnACustomersPageThenCompletesTheTaskUnderOverdueInMyTasks()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        var member = await Server.CreateUserAsync(tenant, "member", MemberPassword);
        var customer = await CreateAsync(token, "/api/customers", new { name = "Lovelace Analytics" });
        var other = await CreateAsync(token, "/api/customers", new { name = "Hopper Navy Yard" });
        var now = DateTimeOffset.UtcNow;
        // More of the member's work for the page (and the README's picture), and what My tasks leaves out.
        await CreateAsync(token, "/api/activities", new { type = "call", subject = "Ring about the renewal", customerId = other, assigneeUserId = member.Id, dueAt = now.AddDays(3) });
        await CreateAsync(token, "/api/activities", new { type = "meeting", subject = "Quarterly review", customerId = other, assigneeUserId = member.Id, dueAt = now.AddDays(5) });
        await CreateAsync(token, "/api/activities", new { type = "task", subject = "Someone else's chore", customerId = other, dueAt = now.AddDays(-2) });
        await CreateAsync(token, "/api/activities", new { type = "task", subject = "Already done", customerId = other, assigneeUserId = member.Id, dueAt = now.AddDays(-2), done = true });
        var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var laterToday = midnight - now > TimeSpan.FromMinutes(30);
        if (laterToday)
        {
            await CreateAsync(token, "/api/activities", new { type = "task", subject = "Prepare the offer", customerId = other, assigneeUserId = member.Id, dueAt = now + (midnight - now) / 2 });
        }

        await SignInAsync(Page, member.Email, MemberPassword);
        await Page.GotoAsync($"/customers/{customer:D}");
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Lovelace Analytics", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("no-activities")).ToBeVisibleAsync();
        await WaitForInteractiveAsync(Page);

        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Add note" }), Dialog(Page));
        await Assertions.Expect(Field(Dialog(Page), "Due")).ToHaveCountAsync(0);
        await Field(Dialog(Page), "Subject").FillAsync("Called about the invoice");
        await Field(Dialog(Page), "Body").FillAsync("They pay on Friday.\n<b>Not bold</b> & not markup");
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Note Called about the invoice added.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        var note = Page.GetByTestId("activity-row").Filter(new() { HasText = "Called about the invoice" });
        await Assertions.Expect(note).ToHaveAttributeAsync("data-type", "note");
        var body = note.GetByTestId("activity-body");
        (await body.InnerTextAsync()).Should().Be("They pay on Friday.\n<b>Not bold</b> & not markup", "the body is plain text, line breaks kept");
        (await body.Locator("b").CountAsync()).Should().Be(0, "a body is never rendered as HTML");
        var timeline = Page.GetByTestId("timeline-entry");
        await Assertions.Expect(timeline.Nth(0)).ToContainTextAsync($"Note added: Called about the invoice by {member.Email} at ");

        var yesterday = now.AddDays(-1).UtcDateTime;
        await ClickUntilVisibleAsync(Page.GetByRole(AriaRole.Button, new() { Name = "Add task" }), Dialog(Page));
        await Assertions.Expect(Field(Dialog(Page), "Assignee")).ToHaveValueAsync("Me");
        await Field(Dialog(Page), "Subject").FillAsync("Send the signed contract");
        await Field(Dialog(Page), "Due").FillAsync(yesterday.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture));
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(Page, "Task Send the signed contract added.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(Page)).ToHaveCountAsync(0);
        var task = Page.GetByTestId("activity-row").Filter(new() { HasText = "Send the signed contract" });
        await Assertions.Expect(task.GetByTestId("activity-due")).ToHaveTextAsync(yesterday.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC");
        await Assertions.Expect(task.GetByTestId("activity-done")).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("activity-row")).ToHaveCountAsync(2);
        await Assertions.Expect(timeline.Nth(0)).ToContainTextAsync($"Task added: Send the signed contract by {member.Email} at ");
        await Assertions.Expect(timeline.Nth(1)).ToContainTextAsync("Note added: Called about the invoice");

        await Page.GetByRole(AriaRole.Link, new() { Name = "My tasks", Exact = true }).ClickAsync();
        await ArriveAtAsync(Page, PathIs("/tasks"));
        await WaitForInteractiveAsync(Page);
        var overdue = Page.GetByTestId("tasks-overdue");
        var week = Page.GetByTestId("tasks-week");
        await Assertions.Expect(overdue.GetByTestId("task-row")).ToHaveCountAsync(1);
        var overdueTask = overdue.GetByTestId("task-row").Filter(new() { HasText = "Send the signed contract" });
        await Assertions.Expect(overdueTask.GetByTestId("task-customer")).ToHaveTextAsync("Lovelace Analytics");
        await Assertions.Expect(overdueTask.GetByTestId("task-customer")).ToHaveAttributeAsync("href", $"/customers/{customer:D}");
        await Assertions.Expect(overdue.GetByTestId("tasks-count")).ToHaveTextAsync("1");
        await Assertions.Expect(week.GetByTestId("task-subject")).ToHaveTextAsync(["Ring about the renewal", "Quarterly review"]);
        await Assertions.Expect(Page.GetByTestId("tasks-today").GetByTestId("task-row")).ToHaveCountAsync(laterToday ? 1 : 0);
        await Assertions.Expect(Page.GetByTestId("task-row").Filter(new() { HasText = "Called about the invoice" })).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("task-row").Filter(new() { HasText = "Someone else's chore" })).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("task-row").Filter(new() { HasText = "Already done" })).ToHaveCountAsync(0);
        await Assertions.Expect(Page.GetByTestId("tasks-zone")).ToHaveTextAsync("Times in UTC");
        await Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0);
        await ScreenshotAsync("tasks", docsName: "tasks");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Complete Send the signed contract" }).ClickAsync();

        await Assertions.Expect(Snackbar(Page, "Task Send the signed contract completed.")).ToBeVisibleAsync();
        await Assertions.Expect(overdue.GetByTestId("task-row")).ToHaveCountAsync(0);
        await Assertions.Expect(overdue.GetByTestId("tasks-none")).ToBeVisibleAsync();
        await Page.GotoAsync("/tasks");
        await Assertions.Expect(week.GetByTestId("task-row")).ToHaveCountAsync(2);
        await Assertions.Expect(overdue.GetByTestId("task-row")).ToHaveCountAsync(0); // The completion is the grain's, not the page's.
        var listed = (await GetAsync(token, $"/api/activities?customerId={customer:D}&type=task"))["items"]!.AsArray().Single()!;
        listed["done"]!.GetValue<bool>().Should().BeTrue();
        listed["assigneeUserId"]!.GetValue<Guid>().Should().Be(member.Id, "a task is its creator's by default");

        await Page.GotoAsync($"/customers/{customer:D}");
        await WaitForInteractiveAsync(Page);
        await Assertions.Expect(task.GetByTestId("activity-done")).ToHaveTextAsync("Done");
        await Assertions.Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Reopen Send the signed contract" })).ToBeVisibleAsync();
        await Assertions.Expect(timeline.Nth(0)).ToContainTextAsync($"Task completed: Send the signed contract by {member.Email} at ");
        ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task AnAdminInTokyoTypesADueTimeInTheBrowsersZoneEditsTheNoteAndDeletesIt()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        var customer = await CreateAsync(token, "/api/customers", new { name = "Kyoto Looms" });
        var page = await NewPageAsync("Asia/Tokyo");
        await SignInAsync(page, tenant.AdminEmail, tenant.AdminPassword);
        await page.GotoAsync($"/customers/{customer:D}");
        await Assertions.Expect(page.GetByTestId("no-activities")).ToBeVisibleAsync();
        await WaitForInteractiveAsync(page);

        await ClickUntilVisibleAsync(page.GetByRole(AriaRole.Button, new() { Name = "Add task" }), Dialog(page));
        await Assertions.Expect(Field(Dialog(page), "Assignee")).ToHaveValueAsync("Admin User (me)");
        await Field(Dialog(page), "Subject").FillAsync("Visit the weaving hall");
        await Field(Dialog(page), "Due").FillAsync("2030-01-15T09:00");
        await Dialog(page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(page, "Task Visit the weaving hall added.")).ToBeVisibleAsync();
        var task = page.GetByTestId("activity-row").Filter(new() { HasText = "Visit the weaving hall" });
        await Assertions.Expect(task.GetByTestId("activity-due")).ToHaveTextAsync("2030-01-15 09:00 Asia/Tokyo");
        var listed = (await GetAsync(token, $"/api/activities?customerId={customer:D}"))["items"]!.AsArray().Single()!;
        DateTimeOffset.Parse(listed["dueAt"]!.GetValue<string>(), CultureInfo.InvariantCulture).Should()
            .Be(new DateTimeOffset(2030, 1, 15, 0, 0, 0, TimeSpan.Zero), "09:00 in Tokyo is midnight UTC");

        await ClickUntilVisibleAsync(page.GetByRole(AriaRole.Button, new() { Name = "Add note" }), Dialog(page));
        await Field(Dialog(page), "Subject").FillAsync("Loom count");
        await Dialog(page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(page, "Note Loom count added.")).ToBeVisibleAsync();
        await Assertions.Expect(Dialog(page)).ToHaveCountAsync(0);
        await ClickUntilVisibleAsync(page.GetByRole(AriaRole.Button, new() { Name = "Edit Loom count" }), Dialog(page));
        await Field(Dialog(page), "Subject").FillAsync("Loom count: 12");
        await Dialog(page).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(Snackbar(page, "Note Loom count: 12 saved.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("timeline-entry").Nth(0)).ToContainTextAsync("Note edited: Loom count: 12");

        await ClickUntilVisibleAsync(page.GetByRole(AriaRole.Button, new() { Name = "Delete Loom count: 12" }), Dialog(page));
        await Assertions.Expect(Dialog(page)).ToContainTextAsync("Delete the note Loom count: 12? This cannot be undone.");
        await Dialog(page).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        await Assertions.Expect(Snackbar(page, "Note Loom count: 12 deleted.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("activity-row")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("activity-row").Filter(new() { HasText = "Loom count" })).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Link, new() { Name = "My tasks", Exact = true }).ClickAsync();
        await ArriveAtAsync(page, PathIs("/tasks"));
        await Assertions.Expect(page.GetByTestId("tasks-zone")).ToHaveTextAsync("Times in Asia/Tokyo");
        // A task due in 2030 is neither overdue nor due this week.
        await Assertions.Expect(page.GetByTestId("task-row")).ToHaveCountAsync(0);
        ConsoleErrors.Should().BeEmpty();
    }

    private async Task<JsonObject> GetAsync(string token, string path)
    {
        using var response = await Server.SendAsync(HttpMethod.Get, path, token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<Guid> CreateAsync(string token, string path, object body)
    {
        using var response = await Server.SendAsync(HttpMethod.Post, path, token, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }
}
