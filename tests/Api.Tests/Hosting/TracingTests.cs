using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>Traces: off by default; on, a request's spans (HTTP, grain calls, SQL) share one trace and name the caller's tenant.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task WithTracesOnARequestsHttpGrainAndDatabaseSpansShareATraceAndNameItsTenant()
    {
        var spans = new ConcurrentQueue<Activity>();
        await using var host = await ApiHost.StartAsync(
            services: s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(new QueueCollection(spans))),
            settings: ["--Shohayota:Telemetry:Traces=true"]);
        var tenant = await host.ProvisionTenantAsync();

        // The trace is the test's own (W3C traceparent): other tests' hosts in this process record spans too.
        var traceId = ActivityTraceId.CreateRandom();
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken);
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        request.Content = System.Net.Http.Json.JsonContent.Create(new { name = "Traced" });
        using var created = await host.Client.SendAsync(request);
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var server = await WaitForAsync(spans, s => s.Kind == ActivityKind.Server && s.TraceId == traceId);
        var trace = spans.Where(s => s.TraceId == traceId).ToList();

        server.GetTagItem("tenant.id").Should().Be(tenant.Id.ToString("D"));
        trace.Should().Contain(s => s.Source.Name == "Npgsql", "the SQL the request ran is in its trace");
        var grainSpans = trace.Where(s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)).ToList();
        grainSpans.Should().NotBeEmpty("the grain calls the request made are in its trace");
        grainSpans.Where(s => s.GetTagItem("tenant.id") is not null).Select(s => s.GetTagItem("tenant.id")).Should()
            .NotBeEmpty().And.AllBeEquivalentTo(tenant.Id.ToString("D"), "a grain span names its grain's tenant, never another");
    }

    [Fact]
    public async Task WithoutConfigurationNothingIsTraced()
    {
        var host = await ApiHost.SharedAsync();

        host.Services.GetService<TracerProvider>().Should().BeNull();
    }

    private static async Task<Activity> WaitForAsync(ConcurrentQueue<Activity> spans, Func<Activity, bool> match)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (spans.FirstOrDefault(match) is { } found)
            {
                // The request's own children end before it; give the exporter a moment for the last ones.
                await Task.Delay(200);
                return found;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("No such span was exported: " + string.Join(", ", spans.Select(s => s.DisplayName)));
    }

    /// <summary>The in-memory exporter adds to a collection from the exporting thread; a queue takes that safely.</summary>
    private sealed class QueueCollection(ConcurrentQueue<Activity> queue) : ICollection<Activity>
    {
        public int Count => queue.Count;

        public bool IsReadOnly => false;

        public void Add(Activity item) => queue.Enqueue(item);

        public void Clear() => queue.Clear();

        public bool Contains(Activity item) => queue.Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => queue.CopyTo(array, arrayIndex);

        public bool Remove(Activity item) => throw new NotSupportedException();

        public IEnumerator<Activity> GetEnumerator() => queue.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
