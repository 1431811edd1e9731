using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Cluster.Tests.Infrastructure;
using Shohayota.TestSupport;
using Xunit.Abstractions;

namespace Shohayota.Cluster.Tests.Cluster;

/// <summary>
/// Issue 16's cluster test: kill the node delivering an event mid-retry and the event still arrives, with its id, from a
/// surviving node once the dead node's lease ends (at least once: a receiver deduplicates by the id); stop it instead
/// (SIGTERM) and it gives its claims back on the way down, so a survivor sends them at once.
/// </summary>
public sealed class WebhookCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Customers = 5;

    /// <summary>
    /// Delivery to a receiver on loopback, polled fast and retried fast. The lease is how long a survivor waits before it
    /// takes over a dead node's deliveries: short for a fast test, yet seconds longer than the moments between the victim's
    /// claim and the kill even on a loaded machine (a lease lapsing before the kill would pass the delivery on to the
    /// survivor while the victim still held it). The timeout outlasts the time the receiver holds a delivery.
    /// </summary>
    private static readonly string[] FastDelivery =
    [
        "--Shohayota:Webhooks:AllowInsecureLocalTargets=true",
        "--Shohayota:Webhooks:PollInterval=00:00:00.200",
        "--Shohayota:Webhooks:ClaimLease=00:00:04",
        "--Shohayota:Webhooks:Timeout=00:00:03",
        "--Shohayota:Webhooks:FirstRetryDelay=00:00:00.300",
        "--Shohayota:Webhooks:MaxRetryDelay=00:00:01",
    ];

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private LocalCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await LocalCluster.CreateAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task KillingTheNodeThatHoldsADeliveryMidRetryStillDeliversEveryEventIdFromASurvivorOnceItsLeaseEnds()
    {
        var nodes = await _cluster.StartAsync(FastDelivery, NodeKind.Api, NodeKind.Api);
        var tenant = await _cluster.ProvisionTenantAsync(nodes[0]);
        await using var receiver = WebhookReceiver.Start();
        // Until armed every attempt fails (500), so every event is being retried; from then on each attempt is held in
        // flight until released, then answered 200. Both decisions read the request's arrival, so they agree.
        var armedTicks = long.MaxValue;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool Armed(ReceivedWebhook r) => r.At.UtcTicks >= Interlocked.Read(ref armedTicks);
        receiver.Answer = r => Armed(r) ? 200 : 500;
        receiver.Hold = r => Armed(r) ? release.Task : Task.CompletedTask;
        using var created = await LocalCluster.SendAsync(nodes[0], HttpMethod.Post, "/api/webhooks", tenant.Token,
            new { url = receiver.Url, events = new[] { "customer.created" } });
        var createdBody = await created.Content.ReadAsStringAsync();
        created.StatusCode.Should().Be(HttpStatusCode.Created, createdBody);
        var secret = JsonNode.Parse(createdBody)!["secret"]!.GetValue<string>();
        var customerIds = new List<string>();
        for (var i = 0; i < Customers; i++)
        {
            using var response = await LocalCluster.CreateCustomerAsync(nodes[i % nodes.Count], tenant, $"hooked-{i}-{Guid.NewGuid():N}");
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.Created, body);
            customerIds.Add(JsonNode.Parse(body)!["id"]!.GetValue<string>());
        }

        var entries = await QueryAsync("SELECT id FROM audit_logs WHERE tenant_id = $1 AND action = 'customer.created'", tenant.Id, r => r.GetGuid(0));
        entries.Should().HaveCount(Customers);
        var eventIds = entries.Select(e => e.ToString("D")).ToHashSet();
        await WaitAsync(receiver, r => r.Select(w => w.EventId).Distinct().Count() == Customers, "every event's first attempt (answered 500)");

        var armedAt = DateTimeOffset.UtcNow;
        Interlocked.Exchange(ref armedTicks, armedAt.UtcTicks);
        var held = (await WaitAsync(receiver, r => r.Any(Armed), "a retry held in flight")).First(Armed);
        var before = await ClaimsAsync(tenant.Id);
        var heldClaim = before.SingleOrDefault(c => c.EventId == held.EventId && c.Node is not null);
        heldClaim.Should().NotBeNull("the delivery held in flight ({0}) is claimed by the node sending it; pending: {1}", held.EventId, Describe(before));
        var victim = nodes.SingleOrDefault(n => NodePid(heldClaim!.Node!) == n.ProcessId);
        victim.Should().NotBeNull("the claim {0} names one of the nodes ({1})", heldClaim!.Node, string.Join(", ", nodes.Select(n => $"{n.Name} pid {n.ProcessId}")));
        var survivor = nodes.Single(n => n != victim);
        var killedAt = DateTimeOffset.UtcNow;
        var sinceKill = Stopwatch.StartNew();
        victim!.Kill();
        // What the dead node held stays as it is until its lease ends, seconds after this read.
        var claims = await ClaimsAsync(tenant.Id);
        release.SetResult();
        var victimClaims = claims.Where(c => c.Node == heldClaim.Node).ToList();

        var deliveries = await WaitForDeliveriesAsync(tenant.Id, sinceKill);
        var allSucceededAfter = sinceKill.Elapsed;
        var received = receiver.Received;
        var afterKill = received.Where(r => r.At > killedAt).ToList();
        var lastArrival = received.Max(r => r.At) - killedAt;
        var summary = $"kill → last event arriving {lastArrival.TotalSeconds:0.00} s, kill → every delivery succeeded {allSucceededAfter.TotalSeconds:0.00} s. " +
                      $"The held retry of {held.EventId} arrived {(held.At - armedAt).TotalSeconds:0.00} s after arming; {victim.Name} (pid {victim.ProcessId}) " +
                      $"was killed {(killedAt - held.At).TotalSeconds:0.00} s later holding {victimClaims.Count} of {claims.Count} pending deliveries " +
                      $"(attempts recorded {string.Join("/", victimClaims.Select(c => c.Attempts))}, lease left " +
                      $"{string.Join("/", victimClaims.Select(c => $"{c.LeaseLeft.TotalSeconds:0.0} s"))}). {received.Count} requests in all, " +
                      $"{afterKill.Count} after the kill ({string.Join(", ", afterKill.GroupBy(r => r.EventId).Select(g => $"{g.Key?[..8]} ×{g.Count()}"))}); " +
                      $"attempts recorded per delivery: {string.Join(", ", deliveries.Select(d => d.Attempts))}";
        output.WriteLine(summary);

        // An attempt counts when its claim is taken: the held retry is the second attempt or later.
        heldClaim.Attempts.Should().BeGreaterThanOrEqualTo(2, "the delivery in flight at the kill was a retry ({0})", summary);
        victimClaims.Select(c => c.EventId).Should().Contain(held.EventId,
            "the killed node died holding the delivery it had in flight (unless its lease lapsed before the kill: a stall of seconds) ({0})", summary);
        victim.HasExited.Should().BeTrue();
        survivor.HasExited.Should().BeFalse(survivor.Output());
        afterKill.Select(r => r.EventId).Should().Contain(victimClaims.Select(c => c.EventId),
            "what the killed node held is sent again after the kill ({0})", summary);
        received.Select(r => r.EventId).ToHashSet().Should().BeEquivalentTo(eventIds, "every event arrives, by its audit entry's id");
        received.Should().AllSatisfy(r =>
        {
            r.Json["id"]!.GetValue<string>().Should().Be(r.EventId);
            r.Type.Should().Be("customer.created");
            WebhookReceiver.Verifies(r.Signature, secret, r.Body).Should().BeTrue("every node signs with the webhook's secret");
        });
        received.Select(r => r.Json["data"]!["id"]!.GetValue<string>()).ToHashSet().Should().BeEquivalentTo(customerIds);
        // One delivery per event to the one webhook, each recorded as succeeded; those the dead node held were pending
        // under its claim after the kill, so a survivor sent and recorded them.
        deliveries.Select(d => d.EventId).Should().BeEquivalentTo(eventIds);
        deliveries.Single(d => d.EventId == held.EventId).Attempts.Should().Be(received.Count(r => r.EventId == held.EventId),
            "the log counts every attempt the receiver saw, the one cut off by the kill too ({0})", summary);
        deliveries.Should().AllSatisfy(d =>
        {
            d.Status.Should().Be("succeeded", summary);
            d.Node.Should().BeNull("a finished delivery keeps no claim");
        });
    }

    [Fact]
    public async Task StoppingTheNodeThatHoldsADeliveryGivesItBackSoASurvivorSendsItLongBeforeItsLeaseWouldEnd()
    {
        // The production lease (60 s): only the stopping node's release (webhook_release) can hand the delivery on sooner.
        var lease = TimeSpan.FromSeconds(60);
        var nodes = await _cluster.StartAsync(
            [
                "--Shohayota:Webhooks:AllowInsecureLocalTargets=true",
                "--Shohayota:Webhooks:PollInterval=00:00:00.200",
                $"--Shohayota:Webhooks:ClaimLease={lease:c}",
                "--Shohayota:Webhooks:Timeout=00:00:30",
            ],
            NodeKind.Api,
            NodeKind.Api);
        var tenant = await _cluster.ProvisionTenantAsync(nodes[0]);
        await using var receiver = WebhookReceiver.Start();
        // The first attempt is held in flight (until the test ends); any later one is answered at once.
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = 0;
        receiver.Hold = _ => Interlocked.Exchange(ref first, 1) == 0 ? never.Task : Task.CompletedTask;
        try
        {
            using var created = await LocalCluster.SendAsync(nodes[0], HttpMethod.Post, "/api/webhooks", tenant.Token,
                new { url = receiver.Url, events = new[] { "customer.created" } });
            created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
            using var customer = await LocalCluster.CreateCustomerAsync(nodes[0], tenant, $"hooked-{Guid.NewGuid():N}");
            customer.StatusCode.Should().Be(HttpStatusCode.Created, await customer.Content.ReadAsStringAsync());

            var held = (await WaitAsync(receiver, r => r.Count > 0, "the first attempt, held in flight"))[0];
            var claim = (await ClaimsAsync(tenant.Id)).Single(c => c.EventId == held.EventId);
            claim.Node.Should().NotBeNull("the delivery in flight is claimed by the node sending it");
            var stopping = nodes.Single(n => NodePid(claim.Node!) == n.ProcessId);
            var survivor = nodes.Single(n => n != stopping);
            // What an operator's "remove a node" does: SIGTERM. Its send is cancelled and its claim given back on the way down.
            var exitCode = await stopping.TerminateAsync(TimeSpan.FromSeconds(30));
            var sinceExit = Stopwatch.StartNew();
            var afterExit = (await ClaimsAsync(tenant.Id, pendingOnly: false)).Single(c => c.EventId == held.EventId);
            var resent = await WaitAsync(receiver, r => r.Count(w => w.EventId == held.EventId) >= 2, "the survivor's attempt");
            var deliveredAfter = sinceExit.Elapsed;
            var delivered = await WaitForDeliveriesAsync(tenant.Id, sinceExit, expected: 1);
            output.WriteLine($"exit → survivor's attempt {deliveredAfter.TotalSeconds:0.00} s (lease {lease.TotalSeconds:0} s); claim right after the exit: {afterExit.Node ?? "none"}");

            exitCode.Should().Be(0, stopping.Output());
            afterExit.Node.Should().NotBe(claim.Node, "the stopping node gave its claim back before it exited");
            deliveredAfter.Should().BeLessThan(lease / 3, "a survivor sends it at its next poll, not when the stopped node's lease ends");
            resent.Count(w => w.EventId == held.EventId).Should().Be(2);
            survivor.HasExited.Should().BeFalse(survivor.Output());
            delivered.Single().Status.Should().Be("succeeded");
            delivered.Single().Attempts.Should().Be(2, "the attempt cut off by the stop counts, and the survivor's");
        }
        finally
        {
            never.TrySetResult();
        }
    }

    /// <summary>Waits until every delivery of the tenant succeeded (or failed); fails with the rows and the nodes' output after <see cref="Patience"/>.</summary>
    private async Task<List<Delivery>> WaitForDeliveriesAsync(Guid tenant, Stopwatch sinceKill, int expected = Customers)
    {
        while (true)
        {
            var deliveries = await ClaimsAsync(tenant, pendingOnly: false);
            if (deliveries.Count == expected && deliveries.All(d => d.Status != "pending"))
            {
                return deliveries;
            }

            sinceKill.Elapsed.Should().BeLessThan(Patience, "the survivor delivers every event once the killed node's lease ends; deliveries: {0}\n{1}",
                Describe(deliveries), _cluster.Output());
            await Task.Delay(100);
        }
    }

    private static async Task<IReadOnlyList<ReceivedWebhook>> WaitAsync(WebhookReceiver receiver, Func<IReadOnlyList<ReceivedWebhook>, bool> done, string what)
    {
        try
        {
            return await receiver.WaitAsync(done, Patience);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"Waited {Patience.TotalSeconds:0} s for {what}: {e.Message}", e);
        }
    }

    /// <summary>The tenant's deliveries (pending ones with their claim), read as the operator.</summary>
    private Task<List<Delivery>> ClaimsAsync(Guid tenant, bool pendingOnly = true) => QueryAsync(
        $"""
        SELECT event_id, status, attempts, claimed_by, greatest(claimed_until - now(), interval '0')
        FROM webhook_deliveries WHERE tenant_id = $1 {(pendingOnly ? "AND status = 'pending'" : "")} ORDER BY event_seq
        """,
        tenant,
        r => new Delivery(r.GetGuid(0).ToString("D"), r.GetString(1), r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3),
            r.IsDBNull(4) ? TimeSpan.Zero : r.GetTimeSpan(4)));

    private async Task<List<T>> QueryAsync<T>(string sql, Guid tenant, Func<NpgsqlDataReader, T> read)
    {
        await using var connection = new NpgsqlConnection(_cluster.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(sql, connection);
        select.Parameters.Add(new NpgsqlParameter { Value = tenant });
        var rows = new List<T>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>The process id in a dispatcher's node name (<c>{machine}/{pid}/{guid}</c>).</summary>
    private static int NodePid(string node) => int.Parse(node.Split('/')[^2], System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(IEnumerable<Delivery> deliveries) =>
        string.Join("; ", deliveries.Select(d => $"{d.EventId} {d.Status} after {d.Attempts} attempts, claimed by {d.Node ?? "none"}"));

    private sealed record Delivery(string EventId, string Status, int Attempts, string? Node, TimeSpan LeaseLeft);
}
