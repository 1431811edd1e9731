using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Cluster.Tests.Infrastructure;
using Shohayota.TestSupport;
using Xunit.Abstractions;

namespace Shohayota.Cluster.Tests.Cluster;

public sealed class DatabaseOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private LocalCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await LocalCluster.CreateAsync(durableCommits: true);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task StoppingPostgreSqlForTenSecondsUnderLoadFailsWithServiceUnavailableAndRecoversWithoutARestart()
    {
        var postgres = _cluster.Database.Managed ?? throw new InvalidOperationException("This test stops its own PostgreSQL; it needs the managed test cluster.");
        var nodes = await _cluster.StartAsync(NodeKind.Api, NodeKind.Api);
        var tenant = await _cluster.ProvisionTenantAsync(nodes[0]);
        var acknowledged = new ConcurrentBag<(Guid Id, string Name)>();
        var unexpected = new ConcurrentBag<string>();
        var unavailable = 0;
        using var stop = new CancellationTokenSource();
        var load = Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var via = nodes[(worker + i) % nodes.Count];
                var name = $"outage-{worker}-{i}-{Guid.NewGuid():N}";
                using var response = await LocalCluster.CreateCustomerAsync(via, tenant, name);
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged.Add((Guid.Parse(JsonNode.Parse(body)!["id"]!.GetValue<string>()), name));
                    continue;
                }

                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null &&
                    response.Content.Headers.ContentType?.MediaType == "application/problem+json" &&
                    JsonNode.Parse(body)?["type"]?.GetValue<string>() == "https://shohayota.dev/problems/service-unavailable")
                {
                    Interlocked.Increment(ref unavailable);
                }
                else
                {
                    unexpected.Add($"{via.Name}: {LocalCluster.Describe(response, body)}");
                }

                await Task.Delay(50);
            }
        })));
        await Task.Delay(TimeSpan.FromSeconds(2));

        await postgres.KillAsync();
        var down = Stopwatch.StartNew();
        var unhealthy = await WaitForHealthAsync(nodes, HttpStatusCode.ServiceUnavailable, Outage);
        // The scrape still answers while the database is down (when it matters most), saying so.
        var scrapeClock = Stopwatch.StartNew();
        using var scrape = await nodes[0].Client.GetAsync("/metrics");
        var scrapeTook = scrapeClock.Elapsed;
        var metricsDuringOutage = PrometheusText.Parse(await scrape.Content.ReadAsStringAsync());
        var acknowledgedBeforeOutage = acknowledged.Count;
        var unavailableDuringOutage = Volatile.Read(ref unavailable);
        await Task.Delay(Outage - down.Elapsed is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
        var acknowledgedDuringOutage = acknowledged.Count - acknowledgedBeforeOutage;
        await postgres.RestartAsync();
        var up = Stopwatch.StartNew();
        var healthy = await WaitForHealthAsync(nodes, HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        var writesBack = await WaitForWritesAsync(nodes, tenant, TimeSpan.FromSeconds(60));
        var recoveredAfter = up.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2));
        await stop.CancelAsync();
        await load;

        NpgsqlConnection.ClearAllPools();
        var rows = await _cluster.CustomerRowsAsync([tenant.Id]);
        var audit = await _cluster.AuditCountsAsync([tenant.Id], "customer.created");
        var chain = await LocalCluster.VerifyAuditAsync(nodes[1], tenant);
        var summary = $"{acknowledged.Count} acknowledged ({acknowledgedDuringOutage} while the database was down), {unavailable} unavailable " +
                      $"({unavailableDuringOutage} by the time health was red); writes back {recoveredAfter.TotalSeconds:0.0} s after PostgreSQL returned";
        output.WriteLine(summary);
        nodes.Should().AllSatisfy(n => n.HasExited.Should().BeFalse("nodes stay up through a database outage"));
        unhealthy.Should().BeTrue("/api/health turns 503 on every node while PostgreSQL is down\n{0}", _cluster.Output());
        scrape.StatusCode.Should().Be(HttpStatusCode.OK);
        scrapeTook.Should().BeLessThan(TimeSpan.FromSeconds(10), "the database figures are read with a short timeout");
        metricsDuringOutage.Value("shohayota_db_reachable").Should().Be(0);
        metricsDuringOutage.Value("shohayota_http_requests_total", ("class", "all")).Should().BePositive();
        metricsDuringOutage.Find("dotnet_process_cpu_time_seconds_total").Should().NotBeEmpty();
        unavailable.Should().BePositive(summary);
        unexpected.Should().BeEmpty("writes fail only with a 503 problem ({0})\n{1}", summary, _cluster.Output());
        healthy.Should().BeTrue("health recovers without a restart\n{0}", _cluster.Output());
        writesBack.Should().BeTrue("writes recover without a restart ({0})\n{1}", summary, _cluster.Output());
        var byId = rows.ToDictionary(r => r.Id);
        acknowledged.Should().AllSatisfy(a => byId.Should().ContainKey(a.Id, "no acknowledged write is missing ({0})", summary));
        audit.Keys.Select(k => k.Target).Should().BeEquivalentTo(rows.Select(r => r.Id.ToString("D")), "nothing is half-written: each row has its entry and each entry its row");
        audit.Values.Should().AllSatisfy(count => count.Should().Be(1));
        chain["valid"]!.GetValue<bool>().Should().BeTrue(chain.ToJsonString());
    }

    private static async Task<bool> WaitForHealthAsync(IReadOnlyList<ClusterNode> nodes, HttpStatusCode expected, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var statuses = await Task.WhenAll(nodes.Select(async n =>
            {
                using var response = await n.Client.GetAsync("/api/health");
                return response.StatusCode;
            }));
            if (statuses.All(s => s == expected))
            {
                return true;
            }

            await Task.Delay(200);
        }

        return false;
    }

    private static async Task<bool> WaitForWritesAsync(IReadOnlyList<ClusterNode> nodes, ClusterTenant tenant, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var pending = nodes.ToList();
        while (clock.Elapsed < timeout && pending.Count > 0)
        {
            foreach (var node in pending.ToList())
            {
                using var response = await LocalCluster.CreateCustomerAsync(node, tenant, $"probe-{Guid.NewGuid():N}");
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    pending.Remove(node);
                }
            }

            await Task.Delay(200);
        }

        return pending.Count == 0;
    }
}
