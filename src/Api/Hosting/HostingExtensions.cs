using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Orleans.Configuration;
using Shohayota.Grains;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Security;
using Shohayota.Silo;
using Shohayota.Silo.Database;
using Shohayota.Silo.Hosting;

namespace Shohayota.Api.Hosting;

public static class HostingExtensions
{
    /// <summary>Whether this node hosts a silo (the default, co-hosted) rather than being a pure cluster client (<c>Shohayota:Cluster:Mode=client</c>).</summary>
    public static bool HostsSilo(IConfiguration configuration) =>
        !string.Equals(configuration["Shohayota:Cluster:Mode"], "client", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The database (configured, or a managed local cluster, migrated) and this node's place in the cluster:
    /// a co-hosted silo (default) or, with Shohayota:Cluster:Mode=client, a pure cluster client.
    /// </summary>
    public static async Task<WebApplicationBuilder> AddShohayotaClusterAsync(this WebApplicationBuilder builder)
    {
        var clientMode = !HostsSilo(builder.Configuration);
        StartupChecks.Run(builder.Configuration, builder.Environment, hostsSilo: !clientMode);
        // The host's logging is not built yet; these start-up lines follow the same Logging settings (level, JSON format).
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddConfiguration(builder.Configuration.GetSection("Logging")).AddConsole());
        var managed = await DatabaseSetup.PrepareAsync(builder.Configuration, loggerFactory);
        if (managed is not null)
        {
            builder.Services.AddSingleton(managed);
            builder.Services.AddHostedService<ManagedPostgresStopper>();
        }

        NodeIdentity.Apply(builder.Configuration);
        var cluster = ClusterShutdown.Read(builder.Configuration);
        builder.Services.AddShohayotaShutdown(cluster);

        if (clientMode)
        {
            var connectionString = builder.Configuration.GetConnectionString(DatabaseSetup.ConnectionStringName)!;
            builder.Services.AddSingleton(_ => GrainsExtensions.RuntimeDataSource(connectionString));
            builder.Services.TryAddSingleton(TimeProvider.System);
            builder.Services.AddOptions<Grains.Quotas.PlansOptions>().Configure(o => o.AddDefaults()).BindConfiguration(Grains.Quotas.PlansOptions.SectionName);
            builder.Services.AddOptions<Grains.Quotas.MeteringOptions>().BindConfiguration(Grains.Quotas.MeteringOptions.SectionName);
            builder.Services.AddShohayotaBackupServices();
            builder.Services.AddShohayotaCallerSigning();
            builder.UseOrleansClient(client =>
            {
                client.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = cluster.ClusterId;
                    o.ServiceId = cluster.ServiceId;
                });
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = connectionString;
                });
                client.UseClusterTls(builder.Configuration).RequireLoopbackGatewaysWithoutTls(builder.Configuration);
                client.Services.AddShohayotaExceptionSerialization();
                if (Telemetry.Read(builder.Configuration).TracesOn)
                {
                    client.AddActivityPropagation();
                }
            });
        }
        else
        {
            builder.UseOrleans(silo =>
            {
                silo.AddShohayotaSilo(builder.Configuration);
                if (Telemetry.Read(builder.Configuration).TracesOn)
                {
                    // Filters run in the order they are added: this one runs inside the incoming call's span.
                    silo.AddActivityPropagation();
                    silo.AddIncomingGrainCallFilter(context =>
                    {
                        if (Grains.Interfaces.Common.GrainKeys.TenantOf(context.TargetId.Key.ToString()!) is { } tenant)
                        {
                            Grains.Diagnostics.TenantSpans.Set(tenant);
                        }

                        return context.Invoke();
                    });
                }
            });
        }

        builder.Services.AddOptions<Grains.Tenants.TenantOptions>().BindConfiguration(Grains.Tenants.TenantOptions.SectionName);
        return builder;
    }

    /// <summary>Stops the managed PostgreSQL after everything else has stopped (hosted services stop in reverse order).</summary>
    private sealed class ManagedPostgresStopper(ManagedPostgres postgres) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => postgres.StopAsync();
    }
}
