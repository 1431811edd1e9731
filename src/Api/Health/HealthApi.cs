using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Orleans.Runtime;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Health;

public static class HealthApi
{
    public static WebApplicationBuilder AddShohayotaHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database")
            .AddCheck<ClusterHealthCheck>("cluster")
            .AddCheck<IsolationHealthCheck>("isolation")
            .AddCheck<AuditHealthCheck>("audit");
        return builder;
    }

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder routes)
    {
        // Unhealthy is 503 with the same body: which check failed, never a connection string.
        routes.MapGet("/api/health", GetHealthAsync).AllowAnonymous().WithTags("Health")
            .Produces<HealthResponse>().Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable)
            .WithDescription("This node's health: the overall status and each check's (`database`, `cluster`, `isolation`, `audit`) with its " +
                "data; 503 with the same body when a check is unhealthy. Anonymous; it names no connection string or secret.");
        return routes;
    }

    /// <summary>The overall status and each check's status, description and data.</summary>
    public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, Dictionary<string, object?>> Checks);

    private static async Task<IResult> GetHealthAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        var body = new HealthResponse(
            Name(report.Status),
            report.Entries.ToDictionary(
                e => e.Key,
                e => new Dictionary<string, object?>(e.Value.Data.Select(d => KeyValuePair.Create(d.Key, (object?)d.Value)))
                {
                    ["status"] = Name(e.Value.Status),
                    ["description"] = e.Value.Description,
                }));
        return TypedResults.Json(body, statusCode: report.Status == HealthStatus.Unhealthy ? 503 : 200);
    }

    private static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}

/// <summary>A fresh connection and <c>SELECT 1</c>, with a short timeout; says nothing about the connection string.</summary>
internal sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is unreachable.");
        }
    }
}

internal sealed class ClusterHealthCheck(IGrainFactory grains, CallerSigner signer) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // The management grain answers a front end's client only for a signed caller: this node asks as the system.
            signer.EnterSystem();
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken).WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
            return HealthCheckResult.Healthy(data: new Dictionary<string, object> { ["activeSilos"] = hosts.Count });
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The Orleans cluster does not answer.");
        }
    }
}

/// <summary>Unhealthy once the live cross-tenant probe has ever seen a foreign row (sticky until the probe grain restarts).</summary>
internal sealed class IsolationHealthCheck(IGrainFactory grains, Grains.Security.CallerSigner signer) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            signer.EnterSystem();
            var report = await grains.GetGrain<Grains.Interfaces.Diagnostics.IIsolationProbeGrain>("isolation").GetLastAsync()
                .WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
            var data = new Dictionary<string, object> { ["lastProbeAt"] = report?.ProbedAt.ToString("O") ?? "pending" };
            return report is { EverLeaked: true } || report is { ForeignRowsSeen: > 0 }
                ? HealthCheckResult.Unhealthy("The isolation probe saw another tenant's data.", data: data)
                : HealthCheckResult.Healthy(data: data);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or OperationCanceledException)
        {
            return HealthCheckResult.Degraded("The isolation probe does not answer.");
        }
    }
}

/// <summary>The audit writers of this node: last successful write, pending entries, failures since.</summary>
internal sealed class AuditHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<Grains.Audit.AuditWriterHealth>() is not { } audit)
        {
            return Task.FromResult(HealthCheckResult.Healthy("This node runs no silo, so no audit writer."));
        }

        var data = new Dictionary<string, object>
        {
            ["lastSuccessfulWrite"] = audit.LastSuccess?.ToString("O") ?? "never",
            ["pending"] = audit.Pending,
            ["written"] = audit.Written,
            ["consecutiveFailures"] = audit.ConsecutiveFailures,
        };
        var failing = audit.ConsecutiveFailures > 0 && audit.LastFailure > (audit.LastSuccess ?? DateTimeOffset.MinValue);
        return Task.FromResult(failing
            ? HealthCheckResult.Unhealthy("Audit entries cannot be written.", data: data)
            : HealthCheckResult.Healthy(data: data));
    }
}
