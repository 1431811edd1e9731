using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>The per-second traffic report to each tenant's TenantGrain survives a report that fails, whatever it fails with.</summary>
public sealed class TrafficReporterTests
{
    [Fact]
    public async Task ACancelledTrafficReportNeitherStopsTheReporterNorTheNode()
    {
        var failing = new FailingTrafficReports();
        await using var host = await ApiHost.StartAsync(services: s => s.AddSingleton<IOutgoingGrainCallFilter>(failing));
        var tenant = await host.ProvisionTenantAsync();

        using var first = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=1", tenant.Admin.AccessToken);
        await failing.FailedAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        using var second = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=1", tenant.Admin.AccessToken);
        var reportedAgain = failing.FailedAsync(2).WaitAsync(TimeSpan.FromSeconds(30));

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        await reportedAgain;
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested.Should().BeFalse();
    }

    /// <summary>Fails every traffic report the way a call to an activation the runtime cancelled fails.</summary>
    private sealed class FailingTrafficReports : IOutgoingGrainCallFilter
    {
        private int _failures;

        /// <summary>Completes once <paramref name="count"/> reports have failed in all.</summary>
        public async Task FailedAsync(int count)
        {
            while (Volatile.Read(ref _failures) < count)
            {
                await Task.Delay(50);
            }
        }

        public Task Invoke(IOutgoingGrainCallContext context)
        {
            if (context.InterfaceMethod?.Name != nameof(ITenantGrain.ReportTrafficAsync))
            {
                return context.Invoke();
            }

            Interlocked.Increment(ref _failures);
            throw new TaskCanceledException("Activation was cancelled by the runtime.");
        }
    }
}
