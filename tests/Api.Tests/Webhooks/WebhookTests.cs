using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Backups;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Tenants;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Webhooks;

/// <summary>
/// Webhooks end to end on a host that delivers (to a real receiver on loopback, which the development flag allows):
/// signed events from the outbox, the delivery log, retries, order per record, rotation, suspension, disabling.
/// </summary>
public sealed class WebhookTests(WebhookHost fixture) : IClassFixture<WebhookHost>
{
    private ApiHost Host => fixture.Host;

    [Fact]
    public async Task AWebhookIsRegisteredWithItsSecretShownOnceAndStoredOnlyEncrypted()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();

        var (id, secret) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);
        using var list = await Host.SendAsync(HttpMethod.Get, "/api/webhooks", tenant.Admin.AccessToken);
        var listed = await list.Content.ReadAsStringAsync();
        var stored = await RowTextAsync($"SELECT w::text FROM webhooks w WHERE id = '{id}'");
        using var audit = await Host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=webhook.created&targetId={id}", tenant.Admin.AccessToken);
        var auditText = await audit.Content.ReadAsStringAsync();

        secret.Should().MatchRegex("^whsec_[0-9A-Za-z]{43}$");
        var item = JsonNode.Parse(listed)!["items"]!.AsArray().Single()!;
        item["url"]!.GetValue<string>().Should().Be(receiver.Url);
        item["status"]!.GetValue<string>().Should().Be("active");
        item["secretPrefix"]!.GetValue<string>().Should().Be(secret[..12]);
        JsonNode.Parse(listed)!["eventTypes"]!.AsArray().Select(e => e!.GetValue<string>()).Should().Contain(["customer.created", "tenant.suspended"]);
        listed.Should().NotContain(secret[12..], "the list never shows the secret");
        stored.Should().NotContain(secret[12..], "the database holds the secret encrypted");
        JsonNode.Parse(auditText)!["items"]!.AsArray().Should().ContainSingle();
        auditText.Should().NotContain(secret[12..]);
    }

    [Fact]
    public async Task ACommittedChangeArrivesSignedWithTheEventIdOfItsAuditEntry()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var (webhookId, secret) = await CreateAsync(tenant, receiver.Url, ["customer.created", "customer.deleted"]);

        using var created = await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Hooked Ltd" });
        var customerId = (await created.JsonAsync())["id"]!.GetValue<string>();
        var received = (await receiver.WaitAsync(r => r.Count >= 1)).Single();
        using var audit = await Host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=customer.created&targetId={customerId}", tenant.Admin.AccessToken);
        var entryId = (await audit.JsonAsync())["items"]![0]!["id"]!.GetValue<string>();
        var deliveries = await DeliveriesAsync(tenant, webhookId);

        WebhookReceiver.Verifies(received.Signature, secret, received.Body).Should().BeTrue("the body is signed with the webhook's secret");
        WebhookReceiver.Verifies(received.Signature, secret, received.Body + " ").Should().BeFalse("the signature covers the body");
        received.ContentType.Should().StartWith("application/json");
        var body = received.Json;
        body["id"]!.GetValue<string>().Should().Be(entryId, "the event id is the audit entry's");
        received.EventId.Should().Be(entryId);
        body["type"]!.GetValue<string>().Should().Be("customer.created");
        received.EventType.Should().Be("customer.created");
        body["tenantId"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        body["data"]!["id"]!.GetValue<string>().Should().Be(customerId);
        body["data"]!["object"]!.GetValue<string>().Should().Be("customer");
        DateTimeOffset.Parse(body["occurredAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        var delivery = deliveries.Single()!;
        delivery["status"]!.GetValue<string>().Should().Be("succeeded");
        delivery["attempts"]!.GetValue<int>().Should().Be(1);
        delivery["lastStatusCode"]!.GetValue<int>().Should().Be(200);
        delivery["eventId"]!.GetValue<string>().Should().Be(entryId);
        delivery["lastDurationMs"].Should().NotBeNull();
    }

    [Fact]
    public async Task AnEventOnlyExistsIfTheTransactionThatWroteItsAuditEntryCommits()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        await CreateAsync(tenant, receiver.Url, ["customer.created"]);

        // As the runtime role under the tenant's row-level security, exactly as a grain writes a change with its entry.
        await using (var connection = new NpgsqlConnection(Host.Database.AppConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await Execute(connection, $"SELECT set_config('app.tenant_id', '{tenant.Id}', true)");
            await using (var insert = new NpgsqlCommand(
                """
                INSERT INTO audit_logs (tenant_id, seq, id, created_at, action, target_type, target_id, outcome, prev_hash, hash)
                SELECT $1, h.seq + 1, gen_random_uuid(), now(), 'customer.created', 'customer', gen_random_uuid()::text, 'success', h.hash, sha256(h.hash)
                FROM (SELECT seq, hash FROM audit_logs WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1) h
                """, connection))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
                (await insert.ExecuteNonQueryAsync()).Should().Be(1);
            }

            (await Scalar(connection, "SELECT count(*) FROM webhook_deliveries")).Should().Be(1, "the outbox wrote the event in the change's transaction");
            await transaction.RollbackAsync();
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        (await Bundles.CountAsync(Host, "webhook_events", tenant.Id)).Should().Be(0, "the rolled-back change left no event");
        receiver.Received.Should().BeEmpty();
    }

    [Fact]
    public async Task AFailedDeliveryIsRetriedWithTheSameEventIdUntilItSucceeds()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var calls = 0;
        receiver.Answer = _ => ++calls <= 2 ? 500 : 204;
        var (webhookId, _) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);

        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Retry Co" })).Dispose();
        var received = await receiver.WaitAsync(r => r.Count >= 3);
        await WaitForAsync(async () => (await DeliveriesAsync(tenant, webhookId)).Single()!["status"]!.GetValue<string>() == "succeeded");
        var delivery = (await DeliveriesAsync(tenant, webhookId)).Single()!;

        received.Select(r => r.EventId).Distinct().Should().ContainSingle("a retry sends the same event");
        delivery["attempts"]!.GetValue<int>().Should().Be(3);
        delivery["lastStatusCode"]!.GetValue<int>().Should().Be(204);
        (received[1].At - received[0].At).Should().BeGreaterThan(TimeSpan.FromMilliseconds(100), "retries back off (first delay 200 ms ± 20 %)");
    }

    [Fact]
    public async Task ARecordsEventsArriveInOrderEvenWhenTheFirstNeedsRetries()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var creates = 0;
        receiver.Answer = r => r.EventType == "customer.created" && ++creates == 1 ? 503 : 200;
        await CreateAsync(tenant, receiver.Url, ["customer.created", "customer.updated"]);

        using var created = await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Ordered Inc" });
        var customer = await created.JsonAsync();
        using var update = ApiHost.Authorized(HttpMethod.Put, $"/api/customers/{customer["id"]}", tenant.Admin.AccessToken);
        update.Headers.TryAddWithoutValidation("If-Match", created.Headers.ETag!.Tag);
        update.Content = System.Net.Http.Json.JsonContent.Create(new { name = "Ordered Inc (renamed)" });
        (await Host.Client.SendAsync(update)).StatusCode.Should().Be(HttpStatusCode.OK);
        var received = await receiver.WaitAsync(r => r.Any(x => x.EventType == "customer.updated"));

        received.Select(r => r.EventType).Should().Equal(["customer.created", "customer.created", "customer.updated"],
            "the update waits until the creation, which needed a retry, was delivered");
    }

    [Fact]
    public async Task DuringARotationsOverlapEveryDeliveryIsSignedByTheNewAndThePreviousSecret()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var (webhookId, oldSecret) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);

        using var rotated = await Host.SendAsync(HttpMethod.Post, $"/api/webhooks/{webhookId}/rotate-secret", tenant.Admin.AccessToken);
        var rotation = await rotated.JsonAsync();
        var newSecret = rotation["secret"]!.GetValue<string>();
        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Rotated" })).Dispose();
        var received = (await receiver.WaitAsync(r => r.Count >= 1)).Single();

        rotated.StatusCode.Should().Be(HttpStatusCode.OK);
        newSecret.Should().NotBe(oldSecret);
        rotation["previousSecretValidUntil"]!.GetValue<DateTimeOffset>().Should().BeCloseTo(DateTimeOffset.UtcNow.AddHours(24), TimeSpan.FromMinutes(1));
        received.Signature!.Split(',').Count(p => p.StartsWith("v1=", StringComparison.Ordinal)).Should().Be(2);
        WebhookReceiver.Verifies(received.Signature, newSecret, received.Body).Should().BeTrue();
        WebhookReceiver.Verifies(received.Signature, oldSecret, received.Body).Should().BeTrue("receivers still holding the old secret keep verifying");
    }

    [Fact]
    public async Task ASuspendedTenantsEventsAreHeldAndSentAfterReactivationWhileItsStatusEventsGoOut()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var suspended = false;
        receiver.Answer = r => r.EventType == "customer.created" && !suspended ? 503 : 200;
        await CreateAsync(tenant, receiver.Url, ["customer.created", "tenant.suspended", "tenant.reactivated"]);

        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Held" })).Dispose();
        await receiver.WaitAsync(r => r.Count >= 1);
        (await TenantLifecycleTests.ApplyAsync(Host, tenant.Id, "suspend")).EnsureSuccessStatusCode().Dispose();
        suspended = true;
        await receiver.WaitAsync(r => r.Any(x => x.EventType == "tenant.suspended"));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var whileSuspended = receiver.Received.Count(r => r.EventType == "customer.created");
        (await Host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/reactivate")).EnsureSuccessStatusCode().Dispose();
        // The held event's retry and the new tenant.reactivated event are separate deliveries: either may arrive first.
        var received = await receiver.WaitAsync(r =>
            r.Count(x => x.EventType == "customer.created") > whileSuspended && r.Any(x => x.EventType == "tenant.reactivated"));

        whileSuspended.Should().BeLessThanOrEqualTo(2, "the retries (every 200-1000 ms) stop while the tenant is suspended");
        received.Last(r => r.EventType == "customer.created").Body.Should().Contain("\"Held\"", "the held event is the one sent again");
    }

    [Fact]
    public async Task AWebhookFailingForTheWholeRetryPeriodIsDisabledWithAnAlertThatClearsWhenItIsActivatedAgain()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        receiver.Answer = _ => 500;
        var (webhookId, _) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);

        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Never Delivered" })).Dispose();
        await WaitForAsync(async () => (await GetAsync(tenant, webhookId))["status"]!.GetValue<string>() == "disabled", TimeSpan.FromSeconds(30));
        var webhook = await GetAsync(tenant, webhookId);
        var delivery = (await DeliveriesAsync(tenant, webhookId)).Single()!;
        using var alerts = await Host.SendAsync(HttpMethod.Get, "/api/tenants/alerts", tenant.Admin.AccessToken);
        var alertsText = await alerts.Content.ReadAsStringAsync();
        using var audit = await Host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=webhook.disabled&targetId={webhookId}", tenant.Admin.AccessToken);

        webhook["active"]!.GetValue<bool>().Should().BeFalse();
        webhook["disabledReason"]!.GetValue<string>().Should().Contain("HTTP 500");
        delivery["status"]!.GetValue<string>().Should().Be("failed");
        alertsText.Should().Contain($"webhook:{webhookId}");
        (await audit.JsonAsync())["items"]!.AsArray().Should().ContainSingle();

        receiver.Answer = _ => 200;
        using var activated = await Host.SendAsync(HttpMethod.Put, $"/api/webhooks/{webhookId}", tenant.Admin.AccessToken,
            new { url = receiver.Url, events = new[] { "customer.created" }, active = true });
        using var after = await Host.SendAsync(HttpMethod.Get, "/api/tenants/alerts", tenant.Admin.AccessToken);

        (await activated.JsonAsync())["status"]!.GetValue<string>().Should().Be("active");
        (await after.Content.ReadAsStringAsync()).Should().NotContain($"webhook:{webhookId}", "activating the webhook clears its alert");
    }

    [Fact]
    public async Task ARedeliverySendsTheSameEventAgainAsANewDelivery()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var (webhookId, _) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);
        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Twice" })).Dispose();
        var first = (await receiver.WaitAsync(r => r.Count >= 1)).Single();
        await WaitForAsync(async () => (await DeliveriesAsync(tenant, webhookId)).Single()!["status"]!.GetValue<string>() == "succeeded");
        var deliveryId = (await DeliveriesAsync(tenant, webhookId)).Single()!["id"]!.GetValue<string>();

        using var redeliver = await Host.SendAsync(HttpMethod.Post, $"/api/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", tenant.Admin.AccessToken);
        var again = await receiver.WaitAsync(r => r.Count >= 2);
        using var audit = await Host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=webhook.redelivered&targetId={webhookId}", tenant.Admin.AccessToken);

        redeliver.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await redeliver.JsonAsync())["eventId"]!.GetValue<string>().Should().Be(first.EventId);
        again[1].EventId.Should().Be(first.EventId);
        again[1].Body.Should().Be(first.Body, "the event is the same; only the signature's time differs");
        (await audit.JsonAsync())["items"]!.AsArray().Should().ContainSingle();
        (await DeliveriesAsync(tenant, webhookId)).Should().HaveCount(2);
    }

    [Fact]
    public async Task AChangeWithAStaleIfMatchIsRefusedAndChangesNothing()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var (id, _) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);
        using var read = await Host.SendAsync(HttpMethod.Get, $"/api/webhooks/{id}", tenant.Admin.AccessToken);
        var etag = read.Headers.ETag!.Tag;

        using var first = await PutAsync(tenant, id, etag, new { url = receiver.Url, events = new[] { "customer.created", "customer.updated" }, active = true });
        using var stale = await PutAsync(tenant, id, etag, new { url = receiver.Url, events = new[] { "customer.created" }, active = false });
        using var malformed = await PutAsync(tenant, id, "3", new { url = receiver.Url, events = new[] { "customer.created" }, active = false });
        var now = await GetAsync(tenant, id);

        etag.Should().Be("\"1\"");
        first.StatusCode.Should().Be(HttpStatusCode.OK);
        first.Headers.ETag!.Tag.Should().Be("\"2\"");
        stale.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        (await stale.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("precondition-failed"));
        malformed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        now["version"]!.GetValue<int>().Should().Be(2);
        now["active"]!.GetValue<bool>().Should().BeTrue("the stale change was refused whole");
        now["events"]!.AsArray().Should().HaveCount(2);
    }

    [Fact]
    public async Task AnInternalTargetWrittenStraightIntoTheTableIsRefusedAtDeliveryNotSent()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        var (webhookId, _) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);

        // Past the API and the grain: whoever can write the table as the runtime role points the webhook at the metadata
        // address. The connection's own check still refuses it (link-local stays refused even with the development flag).
        await using (var connection = new NpgsqlConnection(Host.Database.AppConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await Execute(connection, $"SELECT set_config('app.tenant_id', '{tenant.Id}', true)");
            await Execute(connection, $"UPDATE webhooks SET url = 'http://169.254.169.254/latest/meta-data' WHERE id = '{webhookId}'");
            await transaction.CommitAsync();
        }

        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Planted" })).Dispose();
        await WaitForAsync(async () => (await DeliveriesAsync(tenant, webhookId)).SingleOrDefault()?["attempts"]?.GetValue<int>() >= 1
            && (await DeliveriesAsync(tenant, webhookId)).Single()!["lastError"] is not null);
        var delivery = (await DeliveriesAsync(tenant, webhookId)).Single()!;

        delivery["lastError"]!.GetValue<string>().Should().Contain("169.254.169.254 is a cloud metadata address", "the guard refused the connection");
        delivery["lastStatusCode"].Should().BeNull("no connection was made");
        receiver.Received.Should().BeEmpty();
    }

    [Fact]
    public async Task TheLogsRetentionRemovesFinishedEventsAndKeepsOnesStillOwed()
    {
        var tenant = await Host.ProvisionTenantAsync();
        await using var receiver = WebhookReceiver.Start();
        receiver.Answer = r => r.Json["data"]!["details"]?.ToJsonString().Contains("Owed", StringComparison.Ordinal) == true ? 500 : 200;
        var (webhookId, _) = await CreateAsync(tenant, receiver.Url, ["customer.created"]);
        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Delivered" })).Dispose();
        await WaitForAsync(async () => (await DeliveriesAsync(tenant, webhookId)).Any(d => d!["status"]!.GetValue<string>() == "succeeded"));
        (await Host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Owed" })).Dispose();
        await receiver.WaitAsync(r => r.Any(x => x.Body.Contains("Owed", StringComparison.Ordinal)));

        // As the runtime role, with a cutoff past both events: the retry period (4 s) of the owed one has not ended.
        long removed;
        await using (var connection = new NpgsqlConnection(Host.Database.AppConnectionString))
        {
            await connection.OpenAsync();
            removed = await Scalar(connection, "SELECT webhook_prune(now() + interval '1 day')");
        }

        var left = await DeliveriesAsync(tenant, webhookId);

        removed.Should().BeGreaterThanOrEqualTo(1);
        left.Should().ContainSingle("the delivered event went with its delivery; the owed one stays")
            .Which!["status"]!.GetValue<string>().Should().NotBe("succeeded");
        (await Bundles.CountAsync(Host, "webhook_events", tenant.Id)).Should().Be(1);
    }

    [Fact]
    public async Task PrivateLinkLocalAndMetadataTargetsStayRefusedEvenWithTheDevelopmentFlag()
    {
        var tenant = await Host.ProvisionTenantAsync();

        foreach (var url in new[] { "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/hook", "http://[fd00:ec2::254]/", "http://10.0.0.1/hook" })
        {
            using var response = await Host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken, new { url, events = new[] { "customer.created" } });
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, url);
            (await response.ProblemAsync())["errors"]!["url"].Should().NotBeNull();
        }
    }

    private async Task<(string Id, string Secret)> CreateAsync(TestTenant tenant, string url, string[] events)
    {
        using var response = await Host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken, new { url, events });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.JsonAsync();
        return (body["id"]!.GetValue<string>(), body["secret"]!.GetValue<string>());
    }

    private async Task<HttpResponseMessage> PutAsync(TestTenant tenant, string webhookId, string ifMatch, object body)
    {
        using var request = ApiHost.Authorized(HttpMethod.Put, $"/api/webhooks/{webhookId}", tenant.Admin.AccessToken);
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        request.Content = System.Net.Http.Json.JsonContent.Create(body);
        return await Host.Client.SendAsync(request);
    }

    private async Task<JsonObject> GetAsync(TestTenant tenant, string webhookId)
    {
        using var response = await Host.SendAsync(HttpMethod.Get, $"/api/webhooks/{webhookId}", tenant.Admin.AccessToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    private async Task<JsonArray> DeliveriesAsync(TestTenant tenant, string webhookId)
    {
        using var response = await Host.SendAsync(HttpMethod.Get, $"/api/webhooks/{webhookId}/deliveries", tenant.Admin.AccessToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return (await response.JsonAsync())["items"]!.AsArray();
    }

    private static async Task WaitForAsync(Func<Task<bool>> done, TimeSpan? timeout = null)
    {
        var until = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await done())
        {
            DateTimeOffset.UtcNow.Should().BeBefore(until, "the condition should hold by then");
            await Task.Delay(100);
        }
    }

    private async Task<string> RowTextAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>
/// A host that sends deliveries fast (polls every 100 ms, retries after 200 ms doubling to 1 s, for 4 s) to loopback, on
/// a database of its own: the queue is the database's, and no other test's webhooks may be sent from here.
/// </summary>
public sealed class WebhookHost : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public ApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Host = await ApiHost.StartAsync(_database = await TestDatabase.StartAsync(), settings:
        [
            "--Shohayota:Webhooks:Deliver=true",
            "--Shohayota:Webhooks:AllowInsecureLocalTargets=true",
            "--Shohayota:Webhooks:PollInterval=00:00:00.100",
            "--Shohayota:Webhooks:FirstRetryDelay=00:00:00.200",
            "--Shohayota:Webhooks:MaxRetryDelay=00:00:01",
            "--Shohayota:Webhooks:RetryPeriod=00:00:04",
        ]);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await _database.DisposeAsync();
    }
}
