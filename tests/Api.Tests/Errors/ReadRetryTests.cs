using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Api.Tests.Errors;

/// <summary>
/// A grain call that met a dead silo: a read is tried once more as the same request (admitted once, without the first
/// attempt's headers); a write answers 503, however deep in the exception the dead silo is.
/// </summary>
public sealed class ReadRetryTests(ReadRetryTests.FaultyHost fixture) : IClassFixture<ReadRetryTests.FaultyHost>
{
    public static TheoryData<string, bool> Chains => new()
    {
        { "silo unavailable", true },
        { "message rejected, wrapped", true },
        { "connection failed, two levels down in an aggregate", true },
        { "a bug", false },
        { "a bug wrapping a bug", false },
        { "none", false },
    };

    [Theory]
    [MemberData(nameof(Chains))]
    public void ASiloIsGoneWhereverItsFailureIsInTheChain(string chain, bool gone)
    {
        Exception? exception = chain switch
        {
            "silo unavailable" => new SiloUnavailableException(),
            "message rejected, wrapped" => new InvalidOperationException("outer", Rejection()),
            "connection failed, two levels down in an aggregate" =>
                new AggregateException(new InvalidOperationException("middle", new ConnectionFailedException("refused"))),
            "a bug" => new InvalidOperationException("bug"),
            "a bug wrapping a bug" => new InvalidOperationException("outer", new ArgumentException("inner")),
            _ => null,
        };

        SiloFailures.IsSiloGone(exception).Should().Be(gone);
    }

    [Fact]
    public async Task AReadRetriedAfterADeadSiloIsOneAdmittedCall()
    {
        var host = fixture.Host;
        var tenant = await host.ProvisionTenantAsync();
        var before = await ApiCallsAsync(host, tenant.Id);
        fixture.Faults.FailNext(nameof(ICustomerQueryGrain.ListAsync), tenant.Id, new SiloUnavailableException("Injected: the silo is gone."));

        using var read = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=1", tenant.Admin.AccessToken);
        await host.Services.GetRequiredService<AdmissionCache>().SettleAsync(tenant.Id);
        var after = await ApiCallsAsync(host, tenant.Id);

        fixture.Faults.Fired.Should().BeTrue("the first attempt met the dead silo");
        read.StatusCode.Should().Be(HttpStatusCode.OK);
        after.Should().Be(before + 1, "one request is one API call, however often it is tried");
    }

    [Fact]
    public async Task AWriteWhoseDeadSiloIsWrappedInAnotherExceptionIs503()
    {
        var host = fixture.Host;
        var tenant = await host.ProvisionTenantAsync();
        fixture.Faults.FailNext(nameof(ICustomerGrain.CreateAsync), tenant.Id, new InvalidOperationException("Injected: wrapped.", Rejection()));

        using var write = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Not Created" });

        fixture.Faults.Fired.Should().BeTrue();
        write.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await write.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("service-unavailable"));
    }

    [Fact]
    public async Task ARetriedReadAnswersWithoutTheHeadersItsFirstAttemptSetAndWithThoseSetBeforeIt()
    {
        var attempts = 0;
        await using var app = await MinimalAppAsync(endpoint: http =>
        {
            http.Response.Headers["X-Attempt"] = (++attempts).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (attempts == 1)
            {
                http.Response.Headers["X-First-Attempt-Only"] = "set";
                throw new SiloUnavailableException("Injected: the silo is gone.");
            }

            return Task.CompletedTask;
        });
        using var client = new HttpClient { BaseAddress = Address(app) };

        using var response = await client.GetAsync(new Uri("/read", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        attempts.Should().Be(2);
        response.Headers.GetValues("X-Attempt").Should().Equal("2");
        response.Headers.Contains("X-First-Attempt-Only").Should().BeFalse();
        response.Headers.GetValues("X-Outer").Should().Equal("kept");
    }

    private static async Task<long> ApiCallsAsync(ApiHost host, Guid tenant) =>
        (await AdmissionLeaseTests.QuotasAsync(host, tenant)).Quotas[QuotaNames.ApiCallsMonthly].Used;

    /// <summary>Only Orleans makes message rejections (its constructor is internal): one as a dead silo's arrives.</summary>
    private static OrleansMessageRejectionException Rejection() =>
        (OrleansMessageRejectionException)Activator.CreateInstance(
            typeof(OrleansMessageRejectionException), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance,
            null, ["Injected: the target silo is gone."], System.Globalization.CultureInfo.InvariantCulture)!;

    /// <summary>A bare app: a middleware that sets a header, then <see cref="ReadRetry"/>, then one GET endpoint.</summary>
    private static async Task<WebApplication> MinimalAppAsync(RequestDelegate endpoint)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Use((http, next) =>
        {
            http.Response.Headers["X-Outer"] = "kept";
            return next(http);
        });
        app.UseReadRetry();
        app.MapGet("/read", endpoint);
        await app.StartAsync();
        return app;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>A host whose grain calls fail when a test says so.</summary>
    public sealed class FaultyHost : IAsyncLifetime
    {
        public GrainFaults Faults { get; } = new();

        public ApiHost Host { get; private set; } = null!;

        public async Task InitializeAsync() => Host = await ApiHost.StartAsync(services: s => s.AddSingleton<IOutgoingGrainCallFilter>(Faults));

        public async Task DisposeAsync() => await Host.DisposeAsync();
    }

    /// <summary>Fails the next call of one method to one tenant's grains with the given exception, before it leaves the node.</summary>
    public sealed class GrainFaults : IOutgoingGrainCallFilter
    {
        private Fault? _next;
        private volatile bool _fired;

        public bool Fired => _fired;

        public void FailNext(string method, Guid tenant, Exception exception)
        {
            _fired = false;
            Volatile.Write(ref _next, new Fault(method, $"{tenant:D}/", exception));
        }

        public Task Invoke(IOutgoingGrainCallContext context)
        {
            if (Volatile.Read(ref _next) is { } fault && context.InterfaceMethod?.Name == fault.Method &&
                context.TargetId.Key.ToString()!.StartsWith(fault.KeyPrefix, StringComparison.Ordinal) &&
                Interlocked.CompareExchange(ref _next, null, fault) == fault)
            {
                _fired = true;
                throw fault.Exception;
            }

            return context.Invoke();
        }

        private sealed record Fault(string Method, string KeyPrefix, Exception Exception);
    }
}
