using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Silo;
using Shohayota.TestSupport;

namespace Shohayota.Grains.Tests;

/// <summary>A two-silo Orleans test cluster running the real silo configuration against a real PostgreSQL.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private static string? _connectionString;

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        _connectionString = (await TestDatabase.SharedAsync()).AppConnectionString;
        var builder = new TestClusterBuilder(2);
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
        new Caller(GrainKeys.SystemTenant, Guid.NewGuid(), Roles.SuperAdmin, "root@tests.local").Enter();
    }

    public static void As(Guid tenantId, Guid userId, string role = Roles.TenantAdmin)
    {
        RequestContext.Clear();
        new Caller(tenantId, userId, role, null).Enter();
    }

    private sealed class Configurator : ISiloConfigurator
    {
        // Backups and the retention purge run on demand only: their schedules would act on every test's tenants.
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddShohayotaSilo(_connectionString!, cluster: null).Services
            .PostConfigure<BackupOptions>(o => o.Enabled = false)
            .PostConfigure<PurgeOptions>(o => o.Enabled = false);
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
