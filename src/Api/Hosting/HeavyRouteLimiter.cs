using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Shohayota.Api.Errors;

namespace Shohayota.Api.Hosting;

/// <summary>The routes whose one request costs a whole-tenant scan; each kind has its own per-tenant bound.</summary>
public enum HeavyRoute
{
    /// <summary><c>GET /api/tenants/export</c> and the UI's <c>/ui/export</c> (one handler): a snapshot streamed as a bundle.</summary>
    Export,

    /// <summary><c>GET /api/audit-logs/verify</c>: re-hashes the tenant's whole audit chain.</summary>
    Verify,

    /// <summary>A record list as CSV (<c>Accept: text/csv</c> on <c>GET /api/customers</c>, <c>/api/contacts</c>): every matching row.</summary>
    CsvExport,

    /// <summary>
    /// A CSV import (<c>POST /api/imports/customers</c>, <c>/contacts</c>): up to 10 MiB buffered and 50,000 rows parsed on
    /// the node; the tenant's import grain takes one at a time, so more would only wait there holding their memory.
    /// </summary>
    Import,
}

public sealed class HeavyRouteOptions
{
    public const string SectionName = "Shohayota:Limits";

    /// <summary>Exports (and, separately, verifies, CSV exports and imports) of one tenant running at once on this node.</summary>
    [Range(1, 1000)]
    public int HeavyPerTenant { get; set; } = 1;

    /// <summary>Heavy requests (exports, verifies, CSV exports and imports of all tenants together) running at once on this node.</summary>
    [Range(1, 10_000)]
    public int HeavyPerNode { get; set; } = Environment.ProcessorCount;

    /// <summary>The <c>Retry-After</c> of a refusal: a heavy request usually takes about a second.</summary>
    [Range(1, 3600)]
    public int HeavyRetryAfterSeconds { get; set; } = 5;
}

/// <summary>
/// Bounds the heavy routes per node: at most <see cref="HeavyRouteOptions.HeavyPerTenant"/> of one kind per tenant and
/// <see cref="HeavyRouteOptions.HeavyPerNode"/> in all. Beyond them the request is refused before any work (429).
/// Per node on purpose: it protects the CPU and database connections of the node doing the work (N nodes may run N
/// exports of one tenant, each on its own CPU); a cluster-wide count would cost a grain call per request and could
/// keep a place forever when a node dies mid-export.
/// </summary>
public sealed class HeavyRouteLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<(HeavyRoute Route, Guid Tenant)> _perTenant;
    private readonly ConcurrencyLimiter _perNode;
    private readonly int _retryAfterSeconds;

    public HeavyRouteLimiter(IOptions<HeavyRouteOptions> options)
    {
        var o = options.Value;
        // No queue: a waiting export would hold its connection and memory while it waits; the client retries instead.
        _perTenant = PartitionedRateLimiter.Create<(HeavyRoute Route, Guid Tenant), (HeavyRoute Route, Guid Tenant)>(key =>
            RateLimitPartition.GetConcurrencyLimiter(key, _ => new ConcurrencyLimiterOptions { PermitLimit = o.HeavyPerTenant, QueueLimit = 0 }));
        _perNode = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = o.HeavyPerNode, QueueLimit = 0 });
        _retryAfterSeconds = o.HeavyRetryAfterSeconds;
    }

    /// <summary>
    /// A permit for one heavy request of <paramref name="tenant"/>, released at the end of the request at the latest
    /// (the handler releases it as soon as its response is written); null when a bound is reached, with the 429 to
    /// answer (<c>Retry-After</c> set) in <paramref name="refusal"/>.
    /// </summary>
    public HeavyRoutePermit? TryEnter(HttpContext http, HeavyRoute route, Guid tenant, out ProblemHttpResult? refusal)
    {
        var permit = TryEnter(route, tenant, out var detail);
        if (permit is null)
        {
            http.Response.Headers.RetryAfter = _retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            refusal = Problems.Create(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests", detail);
            return null;
        }

        http.Response.RegisterForDispose(permit);
        refusal = null;
        return permit;
    }

    /// <summary>A permit to dispose when the work is done; null when a bound is reached, with the reason in <paramref name="refusal"/>.</summary>
    public HeavyRoutePermit? TryEnter(HeavyRoute route, Guid tenant, out string? refusal)
    {
        var tenantLease = _perTenant.AttemptAcquire((route, tenant));
        if (!tenantLease.IsAcquired)
        {
            tenantLease.Dispose();
            refusal = route switch
            {
                HeavyRoute.Export => "An export of this tenant is already running; try again when it has finished.",
                HeavyRoute.Verify => "A verification of this tenant's audit log is already running; try again when it has finished.",
                HeavyRoute.CsvExport => "A CSV export of this tenant is already running; try again when it has finished.",
                _ => "An import into this tenant is already running; try again when it has finished.",
            };
            return null;
        }

        var nodeLease = _perNode.AttemptAcquire();
        if (!nodeLease.IsAcquired)
        {
            nodeLease.Dispose();
            tenantLease.Dispose();
            refusal = "This node is running as many exports, imports and audit verifications as it allows; try again shortly.";
            return null;
        }

        refusal = null;
        return new HeavyRoutePermit(tenantLease, nodeLease);
    }

    public void Dispose()
    {
        _perTenant.Dispose();
        _perNode.Dispose();
    }
}

/// <summary>One heavy request's place under both bounds; disposing it more than once releases it once.</summary>
public sealed class HeavyRoutePermit(RateLimitLease tenantLease, RateLimitLease nodeLease) : IDisposable
{
    private int _released;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            nodeLease.Dispose();
            tenantLease.Dispose();
        }
    }
}
