using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Webhooks;

public sealed class WebhookUiTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ATenantAdminAddsAWebhookInSettingsReceivesASignedEventRedeliversItAndPausesTheWebhook()
    {
        await using var receiver = await Receiver.StartAsync();
        var tenant = await Server.ProvisionTenantAsync();
        var token = await Server.TokenAsync(tenant);
        await SignInAsync(Page, tenant.AdminEmail, tenant.AdminPassword);
        await Page.WaitForURLAsync(PathIs("/customers"));
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

        first.Path.Should().Be("/hook");
        first.ContentType.Should().StartWith("application/json");
        IsSignedBy(first, secret).Should().BeTrue($"the signature header {first.Signature} is HMAC-SHA256 of t + \".\" + body with the secret shown once");
        var eventId = first.Body["id"]!.GetValue<string>();
        first.Body["type"]!.GetValue<string>().Should().Be("customer.created");
        first.Body["tenantId"]!.GetValue<Guid>().Should().Be(tenant.Id);
        first.Body["data"]!["id"]!.GetValue<Guid>().Should().Be(customer);
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
        again.Body["id"]!.GetValue<string>().Should().Be(eventId);
        again.Body["data"]!["id"]!.GetValue<Guid>().Should().Be(customer);
        IsSignedBy(again, secret).Should().BeTrue();
        await Assertions.Expect(panel.GetByTestId("webhook-delivery")).ToHaveCountAsync(2);

        await webhook.GetByTestId("toggle-webhook").ClickAsync();
        await Assertions.Expect(Snackbar(Page, "paused")).ToBeVisibleAsync();
        await Assertions.Expect(webhook.GetByTestId("webhook-status")).ToHaveTextAsync("paused");
        await Assertions.Expect(webhook.GetByTestId("toggle-webhook")).ToHaveTextAsync("Resume");
        await ScreenshotAsync("webhook-paused");
        await CreateCustomerAsync(token, "Unheard Ltd");
        await Task.Delay(TimeSpan.FromSeconds(2));
        receiver.Requests.Should().HaveCount(2, "a paused webhook is sent nothing");
        ConsoleErrors.Should().BeEmpty();
    }

    /// <summary>Checks the header independently of the server's code: one of its v1 values is hex HMAC-SHA256(secret, t + "." + body).</summary>
    private static bool IsSignedBy(ReceivedRequest request, string secret)
    {
        var parts = request.Signature.Split(',').Select(p => p.Split('=', 2)).ToList();
        var timestamp = parts.Single(p => p[0] == "t")[1];
        var sentAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp, CultureInfo.InvariantCulture));
        sentAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5), "the signature's t is when it was sent");
        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(request.RawBody).ToArray();
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        var expected = Convert.ToHexString(hmac.ComputeHash(signed)).ToLowerInvariant();
        return parts.Where(p => p[0] == "v1").Any(p => p[1] == expected);
    }

    private async Task<Guid> CreateCustomerAsync(string token, string name)
    {
        using var response = await Server.SendAsync(HttpMethod.Post, "/api/customers", token, new { name });
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    private async Task<IReadOnlyList<ReceivedRequest>> WaitForRequestsAsync(Receiver receiver, int count)
    {
        var deadline = DateTime.UtcNow + DeliveryTimeout;
        while (receiver.Requests.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var received = receiver.Requests.ToList();
        received.Should().HaveCountGreaterThanOrEqualTo(count, $"the delivery worker posts within {DeliveryTimeout.TotalSeconds:0} s; the server said:\n{Server.Output()}");
        return received;
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
            catch (PlaywrightException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    /// <summary>What the receiver was sent: its path, the webhook headers, and the body as bytes (what was signed) and as JSON.</summary>
    private sealed record ReceivedRequest(string Path, string ContentType, string Signature, string EventId, string EventType, byte[] RawBody)
    {
        public JsonNode Body { get; } = JsonNode.Parse(RawBody)!;
    }

    /// <summary>A webhook receiver on loopback (a free port): answers 200 to every POST and keeps what it was sent, in order.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<ReceivedRequest> _requests = new();

        private Receiver(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public IReadOnlyCollection<ReceivedRequest> Requests => _requests;

        public static async Task<Receiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.MapPost("/hook", async (HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                receiver._requests.Enqueue(new ReceivedRequest(
                    request.Path, request.ContentType ?? "", request.Headers["Shohayota-Signature"].ToString(), request.Headers["Shohayota-Event-Id"].ToString(),
                    request.Headers["Shohayota-Event-Type"].ToString(), body.ToArray()));
                return Results.Ok();
            });
            await app.StartAsync();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            receiver.Url = $"http://127.0.0.1:{address.Port}/hook";
            return receiver;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
