using System.Net;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>
/// <c>/metrics</c> through OpenTelemetry's Prometheus exporter: the standard meters (ASP.NET Core, Kestrel, runtime,
/// Npgsql, Orleans) beside our own, only this host's requests in its HTTP figures, per-tenant series bounded, and the
/// access rule (loopback not relayed by a proxy, or the scrape token).
/// </summary>
public sealed class MetricsScrapeTests(ScrapeTokenHost fixture) : IClassFixture<ScrapeTokenHost>
{
    [Fact]
    public async Task TheScrapeCarriesTheStandardMetersBesideOurOwnFigures()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using (var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Metered", email = "metered@example.com" }))
        {
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        // ASP.NET Core records a request when it has finished, which may be just after the client has its answer.
        var metrics = await host.ScrapeUntilAsync(m => Count(m, "POST", "/api/customers/", "201") > 0);
        using var scrape = await host.Client.GetAsync("/metrics");

        scrape.StatusCode.Should().Be(HttpStatusCode.OK);
        scrape.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        // ASP.NET Core: the request histogram by route and status.
        metrics.Types.Should().Contain("http_server_request_duration_seconds", "histogram");
        Count(metrics, "POST", "/api/customers/", "201").Should().BeGreaterThanOrEqualTo(1);
        // Kestrel, the runtime, Npgsql and Orleans.
        metrics.Types.Should().ContainKeys(
            "kestrel_active_connections", "dotnet_gc_collections_total", "dotnet_process_cpu_time_seconds_total", "db_client_operation_duration_seconds",
            "db_client_connection_count", "orleans_catalog_activations");
        metrics.Find("db_client_operation_duration_seconds_count").Sum(s => s.Value).Should().BePositive();
        metrics.Find("orleans_catalog_activations").Sum(s => s.Value).Should().BePositive();
        // Ours, on the Shohayota meter.
        metrics.Value("shohayota_http_requests_total", ("class", "all")).Should().BePositive();
        metrics.Types["shohayota_http_requests_total"].Should().Be("counter");
        metrics.Value("shohayota_tenants", ("status", "active")).Should().BePositive();
        metrics.Value("shohayota_db_reachable").Should().Be(1);
        metrics.Find("shohayota_db_connections", ("state", "idle")).Should().ContainSingle();
        metrics.Find("shohayota_sign_ins_total").Select(s => s.Labels["result"]).Should()
            .BeEquivalentTo(["succeeded", "failed", "unknown_email", "throttled", "busy", "refused"]);
        metrics.Find("shohayota_http_request_duration_5m_ms").Select(s => s.Labels["quantile"]).Should().BeEquivalentTo(["0.5", "0.95", "0.99"]);
        metrics.Find("shohayota_tenant_api_calls_month").Should().NotBeEmpty();
        metrics.Samples.Should().AllSatisfy(s => s.Labels.Should().NotContainKey("tenant_id"), "a tenant is labelled `tenant`, and only in the bounded per-tenant series");
    }

    [Fact]
    public async Task AHostsHttpFiguresCountItsOwnRequestsOnlyAlthoughEveryHostInTheProcessUsesTheSameMeterNames()
    {
        var shared = await ApiHost.SharedAsync();
        var tenant = await shared.ProvisionTenantAsync();
        // A route only the shared host is asked for in this test class. ASP.NET Core's meter has the same name in every
        // host; if a host's provider subscribed to it by name (AddMeter) instead of through its own meter factory, this
        // request would show in the configured host's histogram too.
        using (var missing = await shared.SendAsync(HttpMethod.Get, $"/api/contacts/{Guid.NewGuid()}", tenant.Admin.AccessToken))
        {
            missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        using (var health = await fixture.Host.Client.GetAsync("/api/health"))
        {
            health.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var sharedHosts = await shared.ScrapeUntilAsync(m => Count(m, "GET", "/api/contacts/{id", "404") > 0);
        var mine = await fixture.Host.ScrapeUntilAsync(m => Count(m, "GET", "/api/health", "200") > 0, fixture.Token);

        Count(sharedHosts, "GET", "/api/contacts/{id", "404").Should().BeGreaterThanOrEqualTo(1, "the shared host counts its own request");
        Count(mine, "GET", "/api/contacts/{id", "404").Should().Be(0, "another host's requests are not this host's");
        Count(mine, "GET", "/api/health", "200").Should().BePositive("the configured host counts its own requests");
    }

    [Fact]
    public async Task PerTenantSeriesAreBoundedByTopTenants()
    {
        for (var i = 0; i < 3; i++)
        {
            await fixture.Host.ProvisionTenantAsync();
        }

        var metrics = await fixture.Host.ScrapeUntilAsync(_ => true, fixture.Token);

        metrics.Value("shohayota_tenants", ("status", "active")).Should().BeGreaterThanOrEqualTo(3);
        metrics.Find("shohayota_tenant_api_calls_month").Select(s => s.Labels["tenant"]).Should().HaveCount(ScrapeTokenHost.TopTenants).And.OnlyHaveUniqueItems();
        metrics.Find("shohayota_tenant_storage_bytes").Should().HaveCount(ScrapeTokenHost.TopTenants);
    }

    [Fact]
    public async Task WithAScrapeTokenOnlyItsBearerMayScrapeEvenFromLoopback()
    {
        using var none = await fixture.Host.Client.GetAsync("/metrics");
        using var wrong = await fixture.Host.SendScrapeAsync("Bearer not-the-token");
        using var shorter = await fixture.Host.SendScrapeAsync($"Bearer {fixture.Token[..^1]}");
        using var right = await fixture.Host.SendScrapeAsync($"Bearer {fixture.Token}");

        foreach (var refused in new[] { none, wrong, shorter })
        {
            refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
            (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("forbidden"));
        }

        right.StatusCode.Should().Be(HttpStatusCode.OK);
        (await right.Content.ReadAsStringAsync()).Should().Contain("shohayota_http_requests_total");
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7")]
    [InlineData("Forwarded", "for=203.0.113.7")]
    [InlineData("X-Real-IP", "203.0.113.7")]
    public async Task WithoutATokenALoopbackRequestAProxyRelayedIsRefused(string header, string value)
    {
        var host = await ApiHost.SharedAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add(header, value);

        using var relayed = await host.Client.SendAsync(request);
        using var direct = await host.Client.GetAsync("/metrics");

        relayed.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await relayed.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("forbidden"));
        direct.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OnlyGetScrapes()
    {
        var host = await ApiHost.SharedAsync();

        using var post = await host.Client.PostAsync("/metrics", new StringContent(""));

        post.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
    }

    /// <summary>Requests counted by ASP.NET Core's histogram with that method, a route starting with <paramref name="route"/>, and that status.</summary>
    private static double Count(PrometheusText metrics, string method, string route, string status) =>
        metrics.Find("http_server_request_duration_seconds_count", ("http_request_method", method), ("http_response_status_code", status))
            .Where(s => s.Labels.TryGetValue("http_route", out var r) && r.StartsWith(route, StringComparison.Ordinal))
            .Sum(s => s.Value);
}

/// <summary>A host whose scrape needs a token and keeps two tenants' series.</summary>
public sealed class ScrapeTokenHost : IAsyncLifetime
{
    public const int TopTenants = 2;

    public ApiHost Host { get; private set; } = null!;

    public string Token { get; } = Convert.ToHexString(Guid.NewGuid().ToByteArray());

    public async Task InitializeAsync()
    {
        var shared = await ApiHost.SharedAsync();
        Host = await ApiHost.StartAsync(shared.Database, settings: [$"--Shohayota:Metrics:ScrapeToken={Token}", $"--Shohayota:Metrics:TopTenants={TopTenants}"]);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
