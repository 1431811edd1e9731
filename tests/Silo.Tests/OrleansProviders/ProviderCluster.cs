using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Configuration;
using Orleans.TestingHost;
using Shohayota.TestSupport;

namespace Shohayota.Silo.Tests.OrleansProviders;

/// <summary>
/// A two-silo Orleans test cluster whose membership, grain state and reminders all go through the ADO.NET
/// providers to the migrated database as the runtime role, with a ClusterId and ServiceId of its own.
/// </summary>
public sealed class ProviderCluster : IAsyncDisposable
{
    public const string Store = "provider-tests";
    public const string DeletingStore = "provider-tests-deleting";

    private const string ConnectionStringKey = "ProviderTests:ConnectionString";
    private const string Invariant = "Npgsql";

    private ProviderCluster(TestCluster cluster, TestDatabase database)
    {
        Cluster = cluster;
        Database = database;
    }

    public TestCluster Cluster { get; }

    public TestDatabase Database { get; }

    public IGrainFactory GrainFactory => Cluster.GrainFactory;

    public string ClusterId => Cluster.Options.ClusterId;

    public string ServiceId => Cluster.Options.ServiceId;

    public static async Task<ProviderCluster> StartAsync()
    {
        var database = await TestDatabase.SharedAsync();
        var builder = new TestClusterBuilder(2);
        builder.Options.ClusterId = "providers-" + Guid.NewGuid().ToString("N")[..12];
        builder.Options.ServiceId = "providers-" + Guid.NewGuid().ToString("N")[..12];
        builder.Options.UseTestClusterMembership = false;
        builder.Properties[ConnectionStringKey] = database.AppConnectionString;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new ProviderCluster(cluster, database);
    }

    public SiloHandle FirstSilo => Cluster.Silos[0];

    public SiloHandle SecondSilo => Cluster.Silos[1];

    /// <summary>The first silo's services, e.g. to reach a provider the way the runtime does.</summary>
    public IServiceProvider FirstSiloServices => ((InProcessSiloHandle)FirstSilo).SiloHost.Services;

    /// <summary>Runs a query as the owner role, which sees every row.</summary>
    public async Task<List<object?[]>> QueryAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Database.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row.Select(value => value is DBNull ? null : value).ToArray());
        }

        return rows;
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var connectionString = siloBuilder.Configuration[ConnectionStringKey];
            siloBuilder.UseAdoNetClustering(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
            });
            siloBuilder.UseSystemTextJsonGrainStorageSerializer();
            siloBuilder.AddAdoNetGrainStorage(Store, o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
            });
            siloBuilder.AddAdoNetGrainStorage(DeletingStore, o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
                o.DeleteStateOnClear = true;
            });
            siloBuilder.UseAdoNetReminderService(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
            });
            siloBuilder.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseAdoNetClustering(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = configuration[ConnectionStringKey];
            });
    }
}
