using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shohayota.Cluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.Cluster.Tests.Cluster;

public sealed class FailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Issue 17's bound on the failover window, with the default membership settings.</summary>
    private static readonly TimeSpan MaxWindow = TimeSpan.FromSeconds(10);
    private LocalCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await LocalCluster.CreateAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task ACustomerWhoseGrainsWereOnAKilledSiloAnswersAgainWithinTenSecondsAndOnlyReadsAreRetried()
    {
        // The victim starts alone, so every grain of the tenant (its TenantGrain, the customer's grain, its query grain)
        // activates there; the survivors join afterwards and reach those grains on the victim.
        var victim = await _cluster.StartAsync(NodeKind.Api);
        var tenant = await _cluster.ProvisionTenantAsync(victim);
        using var created = await LocalCluster.CreateCustomerAsync(victim, tenant, "lives-on-the-victim");
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var path = $"/api/customers/{id}";
        var survivors = await _cluster.StartAsync(NodeKind.Api, NodeKind.Api);
        var (writer, reader) = (survivors[0], survivors[1]);
        await WaitForActiveSilosAsync(survivors, 3);
        foreach (var node in survivors)
        {
            using var warm = await LocalCluster.SendAsync(node, HttpMethod.Get, path, tenant.Token);
            warm.StatusCode.Should().Be(HttpStatusCode.OK, "a survivor reads the customer from the victim before the kill");
        }

        // The survivors have probed the victim for a while, as in a cluster that has run for some time.
        await Task.Delay(TimeSpan.FromSeconds(5));

        victim.Kill();
        var sinceKill = Stopwatch.StartNew();
        // Reads go out every 250 ms from the kill on, each without waiting for the one before (a read that meets the dead
        // silo may wait for the connection attempt); a write goes out with the first of them.
        var writing = Task.Run(async () =>
        {
            using var response = await LocalCluster.CreateCustomerAsync(writer, tenant, "while-the-victim-is-dead");
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(), After: sinceKill.Elapsed);
        });
        var reads = new List<Task<(TimeSpan Sent, HttpStatusCode Status, string Body, TimeSpan Answered)>>();
        while (sinceKill.Elapsed < TimeSpan.FromSeconds(30) && !reads.Any(r => r.IsCompletedSuccessfully && r.Result.Status == HttpStatusCode.OK))
        {
            var sent = sinceKill.Elapsed;
            reads.Add(Task.Run(async () =>
            {
                using var read = await LocalCluster.SendAsync(reader, HttpMethod.Get, path, tenant.Token);
                return (sent, read.StatusCode, await read.Content.ReadAsStringAsync(), sinceKill.Elapsed);
            }));
            await Task.Delay(250);
        }

        var answers = await Task.WhenAll(reads);
        var write = await writing;
        var window = answers.Where(a => a.Status == HttpStatusCode.OK).Select(a => (TimeSpan?)a.Answered).Min();
        var statuses = answers.Select(a => $"{a.Sent.TotalSeconds:0.00}s: {(int)a.Status} at {a.Answered.TotalSeconds:0.00}s").ToList();
        var readerLog = await ReadLogAsync(reader);
        var writerLog = await ReadLogAsync(writer);
        var retries = readerLog.Split('\n').Count(l => l.Contains($"Retrying GET {path} once", StringComparison.Ordinal));
        var summary = $"failover window: {(window is { } w ? $"{w.TotalSeconds:0.0} s" : "none within 30 s")} from the kill to the first 200 " +
                      $"(reads sent, status, answered: {string.Join("; ", statuses)}; {retries} retried); the write answered {(int)write.StatusCode} " +
                      $"after {write.After.TotalSeconds:0.0} s";
        output.WriteLine(summary);
        answers.Should().AllSatisfy(a => a.Status.Should().BeOneOf([HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable], "a read during the failover answers 503 at worst: {0}", a.Body));
        window.Should().NotBeNull(summary + "\n" + _cluster.Output());
        window!.Value.Should().BeLessThanOrEqualTo(MaxWindow, summary);
        readerLog.Should().Contain($"Retrying GET {path} once", "a read that meets the dead silo is tried once more before its 503 ({0})", summary);
        write.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a write to the dead silo's tenant answers 503: {0}", write.Body);
        JsonNode.Parse(write.Body)!["type"]!.GetValue<string>().Should().Be("https://shohayota.dev/problems/service-unavailable");
        writerLog.Should().NotContain("Retrying POST", "writes are not retried");
    }

    private async Task WaitForActiveSilosAsync(IReadOnlyList<ClusterNode> nodes, int expected)
    {
        var clock = Stopwatch.StartNew();
        foreach (var node in nodes)
        {
            var token = await _cluster.SuperAdminTokenAsync(node);
            while (true)
            {
                using var response = await LocalCluster.SendAsync(node, HttpMethod.Get, "/api/admin/cluster", token);
                if (response.StatusCode == HttpStatusCode.OK &&
                    (await response.Content.ReadFromJsonAsync<JsonObject>())!["activeSilos"]!.GetValue<int>() == expected)
                {
                    break;
                }

                clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "the cluster has {0} active silos in the end\n{1}", expected, _cluster.Output());
                await Task.Delay(250);
            }
        }
    }

    /// <summary>The node's whole output so far (the test keeps only its last lines in memory).</summary>
    private static async Task<string> ReadLogAsync(ClusterNode node)
    {
        await using var stream = new FileStream(node.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
