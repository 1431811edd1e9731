using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Diagnostics.Metrics;
using Npgsql;
using OpenTelemetry.Metrics;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Grains.Quotas;

namespace Shohayota.Api.Metrics;

/// <summary>
/// The figures of <c>/metrics</c> that come from the database (tenants by status, this role's connections, the top
/// tenants), read once per scrape just before the exporter collects: OpenTelemetry's observable instruments are
/// synchronous, the database is not. When the database does not answer within <see cref="Timeout"/>, the last figures
/// stay and <c>shohayota_db_reachable</c> says 0, so a scrape still answers when it matters most.
/// </summary>
public sealed class MetricsSnapshot(NpgsqlDataSource db, TimeProvider time, IConfiguration configuration, ILogger<MetricsSnapshot> logger)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private volatile State _state = new(new Dictionary<string, long>(), new MetricsApi.ConnectionCounts(0, 0, 0), [], Reachable: false);

    public sealed record State(
        IReadOnlyDictionary<string, long> TenantsByStatus, MetricsApi.ConnectionCounts Connections, IReadOnlyList<MetricsApi.TenantRow> TopTenants, bool Reachable);

    public State Current => _state;

    /// <summary>Per-tenant series are kept to this many tenants (bounded cardinality).</summary>
    public int TopTenants => Math.Clamp(configuration.GetValue("Shohayota:Metrics:TopTenants", 20), 0, 1000);

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var byStatus = await MetricsApi.TenantsByStatusAsync(db).WaitAsync(timeout.Token);
            var connections = await MetricsApi.ConnectionsAsync(db).WaitAsync(timeout.Token);
            var rows = await MetricsApi.TenantRowsAsync(db, time).WaitAsync(timeout.Token);
            _state = new State(
                byStatus,
                new MetricsApi.ConnectionCounts(connections.Active, connections.Idle, connections.Total),
                [.. rows.OrderByDescending(r => r.ApiCallsMonth).ThenBy(r => r.Id).Take(TopTenants)],
                Reachable: true);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Metrics scrape: the database did not answer ({Error}); serving the last figures.", e.GetType().Name);
            _state = _state with { Reachable = false };
        }
    }
}

/// <summary>
/// Our own instruments on the <c>Shohayota</c> meter, exported with the standard ones (ASP.NET Core, Kestrel, runtime,
/// Npgsql, Orleans) by OpenTelemetry's Prometheus exporter at <c>/metrics</c>. Per-tenant series are bounded by
/// <see cref="MetricsSnapshot.TopTenants"/>.
/// </summary>
public sealed class ShohayotaMeters
{
    public const string MeterName = "Shohayota";

    private static readonly double[] Quantiles = [0.5, 0.95, 0.99];

    public ShohayotaMeters(IMeterFactory meters, TrafficAggregator traffic, SignInMonitor signIns, MetricsSnapshot snapshot, TimeProvider time)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter("shohayota.http.requests", () => new Measurement<long>[]
        {
            new(traffic.Node.Requests, Tag("class", "all")),
            new(traffic.Node.ClientErrors, Tag("class", "4xx")),
            new(traffic.Node.ServerErrors, Tag("class", "5xx")),
        }, description: "Requests this node served since start.");
        meter.CreateObservableCounter("shohayota.http.rate_limited", () => traffic.Node.TooManyRequests,
            description: "Requests this node refused with 429 since start (counted, not audited).");
        meter.CreateObservableCounter("shohayota.sign_ins", () => Enum.GetValues<SignInResult>().Select(r => new Measurement<long>(signIns.Count(r), Tag("result", ResultLabel(r)))),
            description: "Sign-in attempts on this node since start, by result.");
        meter.CreateObservableGauge("shohayota.sign_in_failures_5m", () => signIns.RecentFailures(),
            description: "Failed, unknown-e-mail and throttled sign-ins on this node over the last 5 minutes (the signInFailures alert).");
        meter.CreateObservableGauge("shohayota.http.request_duration_5m_ms", () =>
        {
            var latency = traffic.Window(time.GetUtcNow(), 5).Latency;
            return Quantiles.Select(q => new Measurement<double>(LatencyHistogram.Quantile(latency, q) ?? 0, Tag("quantile", q.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }, description: "This node's response time over the last 5 minutes, in milliseconds (the latency alerts' figure).");
        meter.CreateObservableGauge("shohayota.tenants", () => snapshot.Current.TenantsByStatus.Select(s => new Measurement<long>(s.Value, Tag("status", s.Key))),
            description: "Tenants by status.");
        meter.CreateObservableGauge("shohayota.db.connections", () =>
        {
            var connections = snapshot.Current.Connections;
            return new Measurement<long>[] { new(connections.Active, Tag("state", "active")), new(connections.Idle, Tag("state", "idle")) };
        }, description: "This role's database connections by state.");
        meter.CreateObservableGauge("shohayota.db.reachable", () => snapshot.Current.Reachable ? 1 : 0,
            description: "1 when the database answered this scrape's queries, 0 when it did not (the tenant figures are then the last ones read).");
        meter.CreateObservableGauge("shohayota.process.working_set_bytes", () => Process.GetCurrentProcess().WorkingSet64,
            description: "Resident memory of this node.");
        meter.CreateObservableCounter("shohayota.process.cpu_seconds", () => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
            description: "CPU time of this node.");
        meter.CreateObservableGauge("shohayota.tenant.api_calls_month",
            () => snapshot.Current.TopTenants.Select(r => new Measurement<long>(r.ApiCallsMonth, Tag("tenant", r.Id.ToString()))),
            description: "API calls this month of the top tenants by API calls (Shohayota:Metrics:TopTenants).");
        meter.CreateObservableGauge("shohayota.tenant.storage_bytes",
            () => snapshot.Current.TopTenants.Select(r => new Measurement<long>(r.StorageBytes, Tag("tenant", r.Id.ToString()))),
            description: "Storage of the top tenants by API calls.");
        meter.CreateObservableCounter("shohayota.tenant.rate_limited",
            () => traffic.TooManyRequestsByTenant.OrderByDescending(t => t.Value).ThenBy(t => t.Key).Take(snapshot.TopTenants)
                .Select(t => new Measurement<long>(t.Value, Tag("tenant", t.Key.ToString()))),
            description: "429s this node gave the top tenants by 429s since start.");
    }

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);

    public static string ResultLabel(SignInResult result) => result switch
    {
        SignInResult.Succeeded => "succeeded",
        SignInResult.Failed => "failed",
        SignInResult.UnknownEmail => "unknown_email",
        SignInResult.Throttled => "throttled",
        SignInResult.Busy => "busy",
        _ => "refused",
    };
}

/// <summary>Metrics through OpenTelemetry: which meters are exported, and the <c>/metrics</c> scrape endpoint with its access rule.</summary>
public static class NodeMetrics
{
    /// <summary>Meters this host creates through its own <see cref="IMeterFactory"/>: only this host's (a test process runs several).</summary>
    public static readonly string[] HostMeters =
    [
        ShohayotaMeters.MeterName,
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.Authentication",
        "Microsoft.AspNetCore.Authorization",
    ];

    /// <summary>Meters of the whole process: the runtime's, Npgsql's and Orleans'.</summary>
    public static readonly string[] ProcessMeters = ["System.Runtime", "Npgsql", "Microsoft.Orleans"];

    public static WebApplicationBuilder AddShohayotaMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<MetricsSnapshot>();
        builder.Services.AddSingleton<ShohayotaMeters>();
        builder.Services.AddMetrics(metrics =>
        {
            foreach (var name in HostMeters)
            {
                metrics.EnableMetrics(name, null, null, MeterScope.Local);
            }

            foreach (var name in ProcessMeters)
            {
                metrics.EnableMetrics(name, null, null, MeterScope.Global | MeterScope.Local);
            }
        });
        // Every scrape collects afresh: a cached answer would hide the scrape-time database figures of the snapshot.
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    /// <summary>
    /// <c>GET /metrics</c>: reachable from loopback, or with <c>Shohayota:Metrics:ScrapeToken</c> as a bearer token;
    /// the database figures are read, then the exporter writes every instrument.
    /// </summary>
    public static IEndpointRouteBuilder MapShohayotaMetrics(this IEndpointRouteBuilder routes)
    {
        // The instruments exist from the start, so the first scrape already has them all.
        routes.ServiceProvider.GetRequiredService<ShohayotaMeters>();
        routes.MapPrometheusScrapingEndpoint("/metrics", null, branch => branch.Use(GateAsync), null)
            .WithMetadata(new HttpMethodMetadata(["GET"]))
            .AllowAnonymous()
            .ExcludeFromDescription();
        return routes;
    }

    private static async Task GateAsync(HttpContext http, RequestDelegate next)
    {
        var token = http.RequestServices.GetRequiredService<IConfiguration>()["Shohayota:Metrics:ScrapeToken"];
        // Loopback is this machine, unless a proxy on this machine relayed the request (it says so in a forwarded header):
        // then the caller is whoever the proxy serves.
        var authorized = string.IsNullOrEmpty(token)
            ? http.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip) && !Relayed(http.Request.Headers)
            : CryptographicOperations.FixedTimeEquals(
                Encoding.UTF8.GetBytes(http.Request.Headers.Authorization.ToString()), Encoding.UTF8.GetBytes($"Bearer {token}"));
        if (!authorized)
        {
            await Problems.Create(403, "forbidden", "Forbidden", "Scrape from this machine (not through a proxy), or configure Shohayota:Metrics:ScrapeToken and send it as a bearer token.")
                .ExecuteAsync(http);
            return;
        }

        await http.RequestServices.GetRequiredService<MetricsSnapshot>().RefreshAsync(http.RequestAborted);
        await next(http);
    }

    private static bool Relayed(IHeaderDictionary headers) =>
        headers.ContainsKey("X-Forwarded-For") || headers.ContainsKey("Forwarded") || headers.ContainsKey("X-Real-IP");
}
