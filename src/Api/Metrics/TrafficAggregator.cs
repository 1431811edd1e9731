using System.Collections.Concurrent;
using System.Diagnostics;
using Shohayota.Api.Auth;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Metrics;

/// <summary>
/// What this front end sees of each tenant's requests (status classes, latency), summed in memory and reported to
/// the tenants' TenantGrains once a second — one grain call per active tenant per second, not one per request.
/// Also keeps this node's own totals for /api/admin/metrics and /metrics.
/// </summary>
public sealed class TrafficAggregator
{
    private ConcurrentDictionary<Guid, Counters> _tenants = new();

    private readonly TrafficWindow _nodeWindow = new();
    private readonly Lock _windowLock = new();

    public Counters Node { get; } = new();

    /// <summary>This node's requests over the last <paramref name="minutes"/> minutes.</summary>
    public (long Requests, long ClientErrors, long ServerErrors, long[] Latency) Window(DateTimeOffset now, int minutes)
    {
        lock (_windowLock)
        {
            return _nodeWindow.Sum(now, minutes);
        }
    }

    public ConcurrentDictionary<Guid, Counters> Tenants => _tenants;

    /// <summary>429s per tenant on this node since start (one entry per tenant that was ever refused: bounded by the tenants).</summary>
    public ConcurrentDictionary<Guid, long> TooManyRequestsByTenant { get; } = new();

    public void Record(Guid? tenantId, int status, double milliseconds)
    {
        Node.Add(status, milliseconds);
        lock (_windowLock)
        {
            _nodeWindow.AddOne(DateTimeOffset.UtcNow, status, milliseconds);
        }

        if (tenantId is { } tenant)
        {
            _tenants.GetOrAdd(tenant, _ => new Counters()).Add(status, milliseconds);
            if (status == StatusCodes.Status429TooManyRequests)
            {
                TooManyRequestsByTenant.AddOrUpdate(tenant, 1, (_, n) => n + 1);
            }
        }
    }

    /// <summary>Takes what was gathered since the last call.</summary>
    public IEnumerable<(Guid Tenant, TrafficSample Sample)> Drain()
    {
        var drained = Interlocked.Exchange(ref _tenants, new ConcurrentDictionary<Guid, Counters>());
        return drained.Select(t => (t.Key, t.Value.ToSample()));
    }

    public sealed class Counters
    {
        private readonly long[] _latency = new long[LatencyHistogram.Buckets];
        private long _requests;
        private long _clientErrors;
        private long _serverErrors;
        private long _tooManyRequests;

        public long Requests => Interlocked.Read(ref _requests);

        /// <summary>429s (refused over a limit): counted here rather than audited one by one.</summary>
        public long TooManyRequests => Interlocked.Read(ref _tooManyRequests);

        public long ClientErrors => Interlocked.Read(ref _clientErrors);

        public long ServerErrors => Interlocked.Read(ref _serverErrors);

        public long[] Latency => _latency.ToArray();

        public void Add(int status, double milliseconds)
        {
            Interlocked.Increment(ref _requests);
            if (status >= 500)
            {
                Interlocked.Increment(ref _serverErrors);
            }
            else if (status >= 400)
            {
                Interlocked.Increment(ref _clientErrors);
                if (status == StatusCodes.Status429TooManyRequests)
                {
                    Interlocked.Increment(ref _tooManyRequests);
                }
            }

            Interlocked.Increment(ref _latency[LatencyHistogram.BucketOf(milliseconds)]);
        }

        public TrafficSample ToSample() => new(Requests, ClientErrors, ServerErrors, Latency);
    }
}

public static class TrafficExtensions
{
    public static WebApplicationBuilder AddShohayotaTraffic(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TrafficAggregator>();
        builder.Services.AddHostedService<TrafficReporter>();
        return builder;
    }

    /// <summary>Measures every request (after authentication, so the tenant is known).</summary>
    public static IApplicationBuilder UseTrafficMetering(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            http.RequestServices.GetRequiredService<TrafficAggregator>()
                .Record(http.User.TenantClaim(), http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    });
}

internal sealed class TrafficReporter(TrafficAggregator traffic, IGrainFactory grains, CallerSigner signer, ILogger<TrafficReporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // Signed per tick: an envelope expires, a reporter runs for the life of the node.
            signer.EnterSystem();
            foreach (var (tenant, sample) in traffic.Drain())
            {
                try
                {
                    await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant)).ReportTrafficAsync(sample);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // Cancellations too (a cancelled activation fails the call with one): a failed background service stops the node.
                    logger.LogDebug(e, "Could not report traffic of tenant {TenantId}", tenant);
                }
            }
        }
    }
}
