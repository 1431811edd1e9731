using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>
/// <c>deploy/grafana/shohayota-dashboard.json</c> is read against a real scrape: every series a panel queries is one a
/// node really exports, so a renamed instrument breaks this test, not an operator's dashboard.
/// </summary>
public sealed partial class GrafanaDashboardTests
{
    [Fact]
    public async Task EveryMetricTheDashboardQueriesIsExportedByANode()
    {
        var host = await ApiHost.SharedAsync();
        await ProduceEveryKindOfSampleAsync(host);
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Repository.Root, "deploy", "grafana", "shohayota-dashboard.json")))!;
        var panels = dashboard["panels"]!.AsArray();
        var expressions = panels.SelectMany(p => p!["targets"]!.AsArray()).Select(t => t!["expr"]!.GetValue<string>()).ToList();
        var queried = expressions.SelectMany(e => Selector().Matches(e).Select(m => m.Groups[1].Value)).ToHashSet();

        var exported = Names(await host.ScrapeUntilAsync(m => queried.All(Names(m).Contains)));

        panels.Should().HaveCountGreaterThan(15);
        panels.Select(p => p!["id"]!.GetValue<int>()).Should().OnlyHaveUniqueItems();
        panels.Should().AllSatisfy(p => p!["datasource"]!["uid"]!.GetValue<string>().Should().Be("${datasource}"));
        expressions.Should().AllSatisfy(e => Selector().IsMatch(e).Should().BeTrue($"every query names a metric with the job matcher: {e}"));
        expressions.Should().AllSatisfy(e => e.Should().Contain("job=~\"$job\""));
        queried.Should().Contain(["http_server_request_duration_seconds_bucket", "shohayota_tenants", "dotnet_process_cpu_time_seconds_total",
            "db_client_operation_duration_seconds_bucket", "orleans_catalog_activations"], "the dashboard covers ASP.NET Core, ours, the runtime, Npgsql and Orleans");
        queried.Except(exported).Should().BeEmpty("every metric a panel queries is exported (exported: {0})", string.Join(", ", exported.Order()));
    }

    /// <summary>Series that exist only once something happened: a request, and a 429 of a tenant (a key limited to one a minute).</summary>
    private static async Task ProduceEveryKindOfSampleAsync(ApiHost host)
    {
        var tenant = await host.ProvisionTenantAsync();
        using var created = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken, new { name = "dashboard", role = "member", rateLimitPerMinute = 1 });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var secret = (await created.JsonAsync())["secret"]!.GetValue<string>();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/customers");
            request.Headers.Add("X-Api-Key", secret);
            using var response = await host.Client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        statuses.Should().Equal(HttpStatusCode.OK, HttpStatusCode.TooManyRequests);
    }

    private static HashSet<string> Names(PrometheusText metrics) => metrics.Samples.Select(s => s.Name).ToHashSet();

    /// <summary>A metric selector in PromQL: a name followed by its label matchers.</summary>
    [GeneratedRegex("""([a-zA-Z_:][a-zA-Z0-9_:]*)\{""")]
    private static partial Regex Selector();
}
