using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shohayota.Cluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.Cluster.Tests.Cluster;

/// <summary>A node exits within <c>Shohayota:Cluster:ShutdownTimeout</c> (15 s) of SIGTERM, whatever the database does.</summary>
public sealed class ShutdownTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private LocalCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await LocalCluster.CreateAsync(durableCommits: true);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task SigtermWithPostgreSqlStoppedExitsWithinFifteenSecondsAndSaysWhatItAbandoned()
    {
        var postgres = _cluster.Database.Managed ?? throw new InvalidOperationException("This test stops its own PostgreSQL; it needs the managed test cluster.");
        var nodes = await _cluster.StartAsync(NodeKind.Api, NodeKind.Api);
        var (staying, leaving) = (nodes[0], nodes[1]);
        await BusyTenantAsync(leaving);

        await postgres.KillAsync();
        var (exitCode, exitedAfter) = await TerminateAsync(leaving);
        var log = await ReadLogAsync(leaving);
        var abandoned = log.Split('\n').FirstOrDefault(l => l.Contains("Shutdown did not finish", StringComparison.Ordinal));
        output.WriteLine($"exited {exitedAfter.TotalSeconds:0.0} s after SIGTERM with code {exitCode} (PostgreSQL stopped); {abandoned ?? "nothing abandoned"}");
        await postgres.RestartAsync();
        var declaredDead = await WaitUntilNotActiveAsync(staying, leaving.Name, TimeSpan.FromSeconds(60));

        exitedAfter.Should().BeLessThanOrEqualTo(Bound, "a node exits within the shutdown timeout of SIGTERM\n{0}", leaving.Output());
        if (exitCode != 0)
        {
            exitCode.Should().Be(3, "a cut-short shutdown exits with its own code\n{0}", leaving.Output());
            abandoned.Should().NotBeNull("a cut-short shutdown names what it abandoned\n{0}", leaving.Output());
        }

        declaredDead.Should().BeTrue("the other silo declares the one that left dead once it can write the membership table\n{0}", _cluster.Output());
        staying.HasExited.Should().BeFalse(staying.Output());
    }

    [Fact]
    public async Task SigtermWithPostgreSqlUpLeavesCleanlyAndFlushesUsage()
    {
        var nodes = await _cluster.StartAsync(NodeKind.Api, NodeKind.Api);
        var leaving = nodes[1];
        await BusyTenantAsync(leaving);

        var (exitCode, exitedAfter) = await TerminateAsync(leaving);
        var log = await ReadLogAsync(leaving);
        output.WriteLine($"exited {exitedAfter.TotalSeconds:0.0} s after SIGTERM with code {exitCode} (PostgreSQL up)");
        var declaredDead = await WaitUntilNotActiveAsync(nodes[0], leaving.Name, TimeSpan.FromSeconds(30));

        exitCode.Should().Be(0, leaving.Output());
        exitedAfter.Should().BeLessThanOrEqualTo(Bound, leaving.Output());
        log.Should().NotContain("Shutdown did not finish", "nothing is abandoned with the database up");
        log.Should().NotContain("Could not write the usage", "every TenantGrain flushes its usage on the way out");
        declaredDead.Should().BeTrue(_cluster.Output());
    }

    /// <summary>A tenant with customers made through <paramref name="via"/>, so grains with usage to flush are active.</summary>
    private async Task BusyTenantAsync(ClusterNode via)
    {
        var tenant = await _cluster.ProvisionTenantAsync(via);
        for (var i = 0; i < 5; i++)
        {
            using var created = await LocalCluster.CreateCustomerAsync(via, tenant, $"shutdown-{i}-{Guid.NewGuid():N}");
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }
    }

    /// <summary>SIGTERM, then the time until the process has exited (measured from just before the signal).</summary>
    private static async Task<(int ExitCode, TimeSpan ExitedAfter)> TerminateAsync(ClusterNode node)
    {
        var clock = Stopwatch.StartNew();
        var exitCode = await node.TerminateAsync(TimeSpan.FromMinutes(3));
        return (exitCode, clock.Elapsed);
    }

    private async Task<bool> WaitUntilNotActiveAsync(ClusterNode via, string silo, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                using var response = await LocalCluster.SendAsync(via, HttpMethod.Get, "/api/admin/cluster", await _cluster.SuperAdminTokenAsync(via));
                if (response.StatusCode == HttpStatusCode.OK &&
                    (await response.Content.ReadFromJsonAsync<JsonObject>())!["silos"]!.AsArray()
                    .Single(s => s!["name"]!.GetValue<string>() == silo)!["status"]!.GetValue<string>() == "dead")
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // The survivor is reconnecting to the database: ask again.
            }

            await Task.Delay(500);
        }

        return false;
    }

    private static async Task<string> ReadLogAsync(ClusterNode node)
    {
        await using var stream = new FileStream(node.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
