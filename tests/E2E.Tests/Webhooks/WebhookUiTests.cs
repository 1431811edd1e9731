using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Shohayota.TestSupport;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Webhooks;

public sealed class WebhookUiTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ATenantAdminAddsAWebhookInSettingsReceivesASignedEventRedeliversItPausesRotatesAndDeletesTheWebhook()
    {
        await using var receiver = WebhookReceiver.Start();
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await ArriveAtAsync(Page, PathIs("/customers"));
        await Page.GotoAsync("/settings");
        await WaitForInteractiveAsync(Page);
        var panel = Page.GetByTestId("webhooks");
        await Assertions.Expect(panel.GetByRole(AriaRole.Heading, new() { Name = "Webhooks", Level = 2 })).ToBeVisibleAsync();
        await Assertions.Expect(panel.GetByTestId("no-webhooks")).ToBeVisibleAsync();

        await Field(panel, "Endpoint URL").FillAsync(receiver.Url);
        await panel.GetByLabel("customer.created", new() { Exact = true }).CheckAsync();
        await panel.GetByTestId("create-webhook").ClickAsync();
        await Assertions.Expect(panel.GetByTestId("new-webhook-secret")).ToContainTextAsync("whsec_");
        var secret = (await panel.GetByTestId("new-webhook-secret").InnerTextAsync()).Trim();
        var webhook = panel.GetByTestId("webhook");
        await Assertions.Expect(webhook).ToHaveCountAsync(1);
        await Assertions.Expect(webhook.GetByTestId("webhook-url")).ToHaveTextAsync(receiver.Url);
        await Assertions.Expect(webhook.GetByTestId("webhook-status")).ToHaveTextAsync("active");
        await ScreenshotAsync("webhook-added");
        secret.Should().StartWith("whsec_");

        var customer = await CreateCustomerAsync(token, "Hooked Industries");
        var first = (await WaitForRequestsAsync(receiver, 1))[0];

        first.ContentType.Should().StartWith("application/json");
        IsSignedBy(first, secret).Should().BeTrue($"the signature header {first.Signature} is HMAC-SHA256 of t + \".\" + body with the secret shown once");
        var eventId = first.Json["id"]!.GetValue<string>();
        first.Json["type"]!.GetValue<string>().Should().Be("customer.created");
        first.Json["tenantId"]!.GetValue<Guid>().Should().Be(tenant.Id);
        first.Json["data"]!["id"]!.GetValue<Guid>().Should().Be(customer);
        first.EventId.Should().Be(eventId, "the Shohayota-Event-Id header is the event's id");
        first.EventType.Should().Be("customer.created");

        await webhook.GetByTestId("show-deliveries").ClickAsync();
        await RefreshUntilAsync(panel, "succeeded");
        await Assertions.Expect(panel.GetByTestId("webhook-delivery")).ToHaveCountAsync(1);
        await Assertions.Expect(panel.GetByTestId("webhook-delivery")).ToContainTextAsync("customer.created");
        await ScreenshotAsync("delivery-succeeded");

        await panel.GetByTestId("webhook-delivery").GetByTestId("redeliver").ClickAsync();
        await Assertions.Expect(Snackbar(Page, "being sent again")).ToBeVisibleAsync();
        var again = (await WaitForRequestsAsync(receiver, 2))[1];

        again.EventId.Should().Be(eventId, "a redelivery sends the same event, which receivers deduplicate by its id");
        again.Json["id"]!.GetValue<string>().Should().Be(eventId);
        again.Json["data"]!["id"]!.GetValue<Guid>().Should().Be(customer);
        IsSignedBy(again, secret).Should().BeTrue();
        await Assertions.Expect(panel.GetByTestId("webhook-delivery")).ToHaveCountAsync(2);

        await webhook.GetByTestId("toggle-webhook").ClickAsync();
        await Assertions.Expect(Snackbar(Page, "paused")).ToBeVisibleAsync();
        await Assertions.Expect(webhook.GetByTestId("webhook-status")).ToHaveTextAsync("paused");
        await Assertions.Expect(webhook.GetByTestId("toggle-webhook")).ToHaveTextAsync("Resume");
        await ScreenshotAsync("webhook-paused");
        await CreateCustomerAsync(token, "Unheard Ltd");
        await Task.Delay(TimeSpan.FromSeconds(2));
        receiver.Received.Should().HaveCount(2, "a paused webhook is sent nothing");

        await webhook.GetByTestId("rotate-webhook-secret").ClickAsync();
        await Assertions.Expect(panel.GetByTestId("new-webhook-secret")).Not.ToHaveTextAsync(secret);
        (await panel.GetByTestId("new-webhook-secret").InnerTextAsync()).Trim().Should().StartWith("whsec_");
        await Assertions.Expect(webhook).ToContainTextAsync("the previous one signs too until");
        await ClickUntilVisibleAsync(webhook.GetByTestId("delete-webhook"), Dialog(Page));
        await Dialog(Page).GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();
        await Assertions.Expect(panel.GetByTestId("no-webhooks")).ToBeVisibleAsync();
        ConsoleErrors.Should().BeEmpty();
    }

    /// <summary>The signature checked by the receiver's own reading of the documented scheme, and its t is the time it was sent.</summary>
    private static bool IsSignedBy(ReceivedWebhook request, string secret)
    {
        var timestamp = request.Signature!.Split(',').Single(p => p.StartsWith("t=", StringComparison.Ordinal))[2..];
        DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp, CultureInfo.InvariantCulture)).Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        return WebhookReceiver.Verifies(request.Signature, secret, request.Body);
    }

    private async Task<Guid> CreateCustomerAsync(string token, string name)
    {
        using var response = await Server.SendAsync(HttpMethod.Post, "/api/customers", token, new { name });
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    private async Task<IReadOnlyList<ReceivedWebhook>> WaitForRequestsAsync(WebhookReceiver receiver, int count)
    {
        try
        {
            return await receiver.WaitAsync(received => received.Count >= count, DeliveryTimeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} The server said:\n{Server.Output()}", e);
        }
    }

    /// <summary>Refreshes the open deliveries until the newest shows <paramref name="status"/>: the page does not poll by itself.</summary>
    private static async Task RefreshUntilAsync(ILocator panel, string status)
    {
        var deadline = DateTime.UtcNow + DeliveryTimeout;
        while (true)
        {
            await panel.GetByTestId("refresh-deliveries").ClickAsync();
            try
            {
                await Assertions.Expect(panel.GetByTestId("delivery-status").First).ToHaveTextAsync(status, new() { Timeout = 1_000 });
                return;
            }
            catch (Exception e) when (e is PlaywrightException or TimeoutException && DateTime.UtcNow < deadline)
            {
            }
        }
    }
}
