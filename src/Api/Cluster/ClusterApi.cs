using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Orleans.Runtime;
using Shohayota.Api.Auth;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Silo;
using Shohayota.Silo.Database;

namespace Shohayota.Api.Cluster;

/// <summary>The operators' view of the cluster and the runbook's "Restart database connection pool".</summary>
public static class ClusterApi
{
    private static readonly TimeSpan StatisticsTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin").WithTags("Admin: cluster").RequireAdmission(AuthExtensions.SuperAdminPolicy);
        group.MapGet("/cluster", GetClusterAsync)
            .WithDescription("The cluster as the node that answers sees it: cluster and service id, that node, and every member silo (active " +
                "ones first) with its status, endpoint, start and last heartbeat, and the activations, CPU and clients of those that answer " +
                "within 5 seconds. Super-admins only.");
        group.MapPost("/database/reset-pool", ResetPoolAsync)
            .WithDescription("Clears this node's database connection pools (the runbook's pool restart) → the node and its connections in " +
                "`pg_stat_activity` before and after. Audited as `database.pool_reset` in the system log; super-admins only.");
        return routes;
    }

    /// <summary>One silo as the cluster endpoint lists it (the super-admin console shows the same).</summary>
    public sealed record SiloView(
        string Address, string Endpoint, int GatewayPort, string Name, string HostName, string Status, DateTimeOffset StartedAt,
        DateTimeOffset LastHeartbeatAt, int? Activations, int? RecentlyUsedActivations, float? CpuUsagePercent, long? Clients, bool ThisNode);

    public sealed record ClusterResponse(
        string ClusterId, string ServiceId, NodeDescription AnsweredBy, int ActiveSilos, int Activations, IReadOnlyList<SiloView> Silos);

    internal sealed record PoolResetResponse(string Node, string ApplicationName, DateTimeOffset ClearedAt, PoolState Before, PoolState After);

    /// <summary>Every member silo, active ones first, with the runtime statistics of those that answer in time.</summary>
    public static async Task<List<SiloView>> SilosAsync(IGrainFactory grains, IServiceProvider services)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var members = await management.GetDetailedHosts(onlyActive: false);
        var active = members.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToArray();
        var statistics = new Dictionary<SiloAddress, SiloRuntimeStatistics>();
        if (active.Length > 0)
        {
            try
            {
                var answers = await management.GetRuntimeStatistics(active).WaitAsync(StatisticsTimeout);
                for (var i = 0; i < active.Length && i < answers.Length; i++)
                {
                    statistics[active[i]] = answers[i];
                }
            }
            catch (Exception e) when (e is TimeoutException or OrleansException)
            {
                // A silo that just died is still listed as active for a few seconds; show the members without counts.
            }
        }

        var local = services.GetService<ILocalSiloDetails>();
        return members
            .OrderBy(m => m.Status == SiloStatus.Active ? 0 : 1)
            .ThenByDescending(m => m.StartTime)
            .Select(m =>
            {
                var stats = statistics.GetValueOrDefault(m.SiloAddress);
                return new SiloView(
                    m.SiloAddress.ToParsableString(),
                    $"{m.SiloAddress.Endpoint.Address}:{m.SiloAddress.Endpoint.Port}",
                    m.ProxyPort,
                    m.SiloName,
                    m.HostName,
                    Status(m.Status),
                    new DateTimeOffset(DateTime.SpecifyKind(m.StartTime, DateTimeKind.Utc)),
                    new DateTimeOffset(DateTime.SpecifyKind(m.IAmAliveTime, DateTimeKind.Utc)),
                    stats?.ActivationCount,
                    stats?.RecentlyUsedActivationCount,
                    stats?.EnvironmentStatistics.FilteredCpuUsagePercentage,
                    stats?.ClientCount,
                    local is not null && local.SiloAddress.Equals(m.SiloAddress));
            })
            .ToList();
    }

    private static async Task<Ok<ClusterResponse>> GetClusterAsync(IGrainFactory grains, IConfiguration configuration, IServiceProvider services)
    {
        var silos = await SilosAsync(grains, services);
        var cluster = Node.Options(configuration);
        return TypedResults.Ok(new ClusterResponse(
            cluster.ClusterId, cluster.ServiceId, Node.Describe(configuration, services.GetService<ILocalSiloDetails>()),
            silos.Count(s => s.Status == "active"), silos.Sum(s => s.Activations ?? 0), silos));
    }

    private static async Task<Ok<PoolResetResponse>> ResetPoolAsync(
        NpgsqlDataSource dataSource, IGrainFactory grains, IConfiguration configuration, IServiceProvider services, TimeProvider time,
        ILoggerFactory loggers)
    {
        var applicationName = Node.ApplicationName(configuration);
        var before = await PoolState.ReadAsync(configuration, applicationName);

        // The grains' data sources (the searches' on a node that hosts a silo), and the pools of every connection string
        // this process opened directly (Orleans' providers).
        dataSource.Clear();
        services.GetKeyedService<NpgsqlDataSource>(TenantDatabase.Searches)?.Clear();
        NpgsqlConnection.ClearAllPools();
        var after = await PoolState.ReadSettledAsync(configuration, applicationName);

        var node = Node.Describe(configuration, services.GetService<ILocalSiloDetails>());
        await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant)).AppendAsync([new AuditDraft(
            "database.pool_reset", "node", node.Name,
            Details: System.Text.Json.JsonSerializer.Serialize(new { applicationName, before, after }, PoolState.Json))]);
        loggers.CreateLogger("Shohayota.Cluster").LogWarning(
            "Database connection pools of node {Node} cleared: {Before} connections before, {After} after", node.Name, before.Total, after.Total);
        return TypedResults.Ok(new PoolResetResponse(node.Name, applicationName, time.GetUtcNow(), before, after));
    }

    private static string Status(SiloStatus status) => status switch
    {
        SiloStatus.Created => "created",
        SiloStatus.Joining => "joining",
        SiloStatus.Active => "active",
        SiloStatus.ShuttingDown => "shutting-down",
        SiloStatus.Stopping => "stopping",
        SiloStatus.Dead => "dead",
        _ => "unknown",
    };
}

/// <summary>Which node answered: its name, its mode and, for a node with a silo, the silo's address.</summary>
public sealed record NodeDescription(string Name, string Mode, string? Silo, string? Gateway, int ProcessId);

internal static class Node
{
    public static ShohayotaClusterOptions Options(IConfiguration configuration) =>
        configuration.GetSection(ShohayotaClusterOptions.SectionName).Get<ShohayotaClusterOptions>() ?? new();

    public static NodeDescription Describe(IConfiguration configuration, ILocalSiloDetails? local)
    {
        var options = Options(configuration);
        var mode = local is null ? "client" : "cohosted";
        return new NodeDescription(
            options.SiloName ?? local?.Name ?? Environment.MachineName, mode, local?.SiloAddress.ToParsableString(),
            local?.GatewayAddress?.ToParsableString(), Environment.ProcessId);
    }

    /// <summary>This node's application_name on its runtime connections (see <see cref="NodeIdentity"/>).</summary>
    public static string ApplicationName(IConfiguration configuration) =>
        new NpgsqlConnectionStringBuilder(configuration.GetConnectionString(DatabaseSetup.ConnectionStringName)).ApplicationName ?? "";
}

/// <summary>This node's server connections, as PostgreSQL sees them (the runtime role, this node's application_name).</summary>
internal sealed record PoolState(long Total, long Active, long Idle, long IdleInTransaction)
{
    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    public static async Task<PoolState> ReadAsync(IConfiguration configuration, string applicationName)
    {
        // A connection outside every pool, under another name, so the measurement neither counts nor keeps itself.
        var builder = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString(DatabaseSetup.ConnectionStringName))
        {
            Pooling = false,
            ApplicationName = NodeIdentity.ApplicationName("pool-probe"),
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE state = 'active'),
                   count(*) FILTER (WHERE state = 'idle'),
                   count(*) FILTER (WHERE state LIKE 'idle in transaction%')
            FROM pg_stat_activity
            WHERE usename = current_user AND datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = applicationName });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new PoolState(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <summary>Closed connections leave pg_stat_activity a moment after the client hangs up; wait briefly for idle ones to go.</summary>
    public static async Task<PoolState> ReadSettledAsync(IConfiguration configuration, string applicationName)
    {
        var state = await ReadAsync(configuration, applicationName);
        for (var attempt = 0; attempt < 10 && state.Idle > 0; attempt++)
        {
            await Task.Delay(50);
            state = await ReadAsync(configuration, applicationName);
        }

        return state;
    }
}
