using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Shohayota.Grains;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Security;
using Shohayota.Silo.Database;
using Shohayota.Silo.Hosting;

namespace Shohayota.Silo;

public static class SiloExtensions
{
    public const string StorageName = "shohayota";
    private const string Invariant = "Npgsql";

    /// <summary>
    /// The one silo configuration, shared by the Api's co-hosted silo, the standalone silo and the tests:
    /// ADO.NET clustering, grain storage (System.Text.Json) and reminders on PostgreSQL, the caller signer and the isolation filter.
    /// </summary>
    public static ISiloBuilder AddShohayotaSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        TransportSecurity.CheckSilo(configuration);
        silo.Services.AddInsecureTransportWarning(configuration, "silo and gateway ports");
        return silo.AddShohayotaSilo(
            configuration.GetConnectionString(DatabaseSetup.ConnectionStringName)
                ?? throw new InvalidOperationException($"ConnectionStrings:{DatabaseSetup.ConnectionStringName} is not set."),
            ClusterShutdown.Read(configuration))
        .UseClusterTls(configuration);
    }

    /// <param name="cluster">Null when the caller (Orleans' TestingHost) manages membership and endpoints itself.</param>
    public static ISiloBuilder AddShohayotaSilo(this ISiloBuilder silo, string connectionString, ShohayotaClusterOptions? cluster)
    {
        if (cluster is not null)
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: false);
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
            });
            // A killed silo is declared dead within seconds (see MembershipSettings); its grains then activate elsewhere.
            silo.Configure<ClusterMembershipOptions>(o => ClusterShutdown.Apply(cluster.Membership, o));
            if (cluster.SiloName is { Length: > 0 } name)
            {
                silo.Configure<SiloOptions>(o => o.SiloName = name);
            }
        }

        silo.Services.AddShohayotaExceptionSerialization();
        silo.UseSystemTextJsonGrainStorageSerializer();
        silo.AddAdoNetGrainStorage(StorageName, o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = connectionString;
            o.DeleteStateOnClear = true;
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = connectionString;
        });
        silo.Services.AddShohayotaCallerSigning();
        silo.Services.AddShohayotaGrainCollection();
        silo.Services.AddShohayotaStatelessWorkerFlow();
        silo.Services.AddSingleton<ForgedCallerAudit>();
        silo.AddIncomingGrainCallFilter<TenantIsolationFilter>();
        silo.Services.AddShohayotaGrainServices(connectionString);
        silo.Services.AddShohayotaBackups();
        silo.Services.AddHostedService<SuperAdminBootstrap>();
        silo.Services.AddHostedService<BackgroundWorkStarter>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, MembershipLog>();
        silo.Services.TryAddSingleton<ShutdownProgress>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ShutdownProgress>());
        return silo;
    }

    /// <summary>
    /// Database exceptions cross silos (and reach a client-mode front end) as what they are: Orleans serializes only
    /// exceptions of the namespaces it is told about, and any other one, even as an inner exception, turns the reply
    /// into a CodecNotFoundException, a 500 instead of the 503 an unavailable database answers.
    /// </summary>
    public static IServiceCollection AddShohayotaExceptionSerialization(this IServiceCollection services) =>
        services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));
}
