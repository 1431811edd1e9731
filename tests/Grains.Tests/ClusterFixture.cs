using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;
using Shohayota.Grains.Users;
using Shohayota.Silo;
using Shohayota.TestSupport;

namespace Shohayota.Grains.Tests;

/// <summary>
/// A two-silo Orleans test cluster running the real silo configuration against a real PostgreSQL. The fixture holds the
/// cluster's caller key and signs its callers as a node of the cluster would.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly string CallerKey = Convert.ToBase64String("grains-tests-caller-key-0123456789-abcdefghij"u8.ToArray());
    public static readonly CallerSigner Signer = new([Convert.FromBase64String(CallerKey)], CallerSigner.DefaultLifetime);
    private static string? _connectionString;

    /// <summary>What the silos logged (Shohayota.Grains.Security from Debug up, everything else from Warning).</summary>
    public static LogCapture Logs { get; } = new();

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        _connectionString = (await TestDatabase.SharedAsync()).AppConnectionString;
        var builder = new TestClusterBuilder(2);
        builder.Properties[CallerSigner.KeysKey] = CallerKey;
        // Real gateways on TCP: the forged-caller tests connect a client of their own like any process on the network.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.AddSiloBuilderConfigurator<Configurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>Provisions a tenant as a super-admin and returns it with its admin's id.</summary>
    public async Task<ProvisionedTenant> ProvisionAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        AsSuperAdmin();
        var outcome = await Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(Guid.NewGuid())).ProvisionAsync(new ProvisionTenantRequest(
            $"Tenant {suffix}", $"contact@{suffix}.test", "Admin", $"admin@{suffix}.test", "tenant-admin-password", "pro"));
        RequestContext.Clear();
        return outcome.Value ?? throw new InvalidOperationException(outcome.Detail);
    }

    public static void AsSuperAdmin()
    {
        RequestContext.Clear();
        Signer.Enter(new Caller(GrainKeys.SystemTenant, Guid.NewGuid(), Roles.SuperAdmin, "root@tests.local"));
    }

    public static void As(Guid tenantId, Guid userId, string role = Roles.TenantAdmin)
    {
        RequestContext.Clear();
        Signer.Enter(new Caller(tenantId, userId, role, null));
    }

    private sealed class Configurator : ISiloConfigurator
    {
        // Backups and the retention purge run on demand only: their schedules would act on every test's tenants.
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddShohayotaSilo(_connectionString!, cluster: null).Services
            .PostConfigure<BackupOptions>(o => o.Enabled = false)
            .PostConfigure<PurgeOptions>(o => o.Enabled = false)
            // New passwords at the setting's floor (half the default's CPU): the tests provision a tenant, and hash its admin's password, often.
            .PostConfigure<AuthOptions>(o => o.PasswordHashIterations = PasswordHashing.MinIterations)
            // Every search of this collection's tests waits at most 2 s for its turn (10 s by default; QueryGateTrustTests).
            .PostConfigure<QueryGateOptions>(o => o.QueryTurnTimeout = TimeSpan.FromSeconds(2))
            .AddLogging(logging => logging.AddProvider(Logs)
                .AddFilter<LogCapture>(null, LogLevel.Warning)
                .AddFilter<LogCapture>("Shohayota.Grains.Security", LogLevel.Debug));
    }
}

/// <summary>The test's client is configured like a client-mode front end.</summary>
internal sealed class ClientConfigurator : IClientBuilderConfigurator
{
    public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) =>
        clientBuilder.Services.AddShohayotaExceptionSerialization();
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
