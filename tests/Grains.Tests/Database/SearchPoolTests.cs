using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;

namespace Shohayota.Grains.Tests.Database;

/// <summary>
/// Searches run on a pool of their own (<see cref="GrainsExtensions.SearchDataSource"/>), so a burst of plain pages that
/// grew the shared pool cannot leave every later search on a cold backend. Read through Npgsql's own pool metric
/// (<c>db.client.connection.count</c> by pool name), as an operator's scrape shows it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SearchPoolTests(ClusterFixture fixture)
{
    [Fact]
    public async Task PlainPagesLeaveTheSearchPoolAloneAndOneTenantsSearchesTakeAtMostOneOfItsConnectionsPerCoreAndNode()
    {
        var tenant = await fixture.ProvisionAsync();
        var id = tenant.Tenant.Id;
        var silos = fixture.Cluster.Silos.Cast<InProcessSiloHandle>().Select(s => s.SiloHost.Services).ToList();
        // One tenant's searches run at most the gate's limit at once on each silo, so its search pools open no more.
        var mostConnections = silos.Sum(services => services.GetRequiredService<TenantQueryGate>().Limit);
        ClearSearchPools(silos);
        var searchPool = PoolConnections(GrainsExtensions.SearchPoolName);
        searchPool.Should().Be(0, "the search pools were just cleared");

        ClusterFixture.As(id, tenant.AdminId);
        var customers = fixture.Grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(id));
        var contacts = fixture.Grains.GetGrain<IContactQueryGrain>(GrainKeys.ContactQuery(id));
        var customerPage = new CustomerQuery(null, null, null, null, CustomerSort.CreatedAtDescending, 50, null);
        var contactPage = new ContactQuery(null, null, null, null, ContactSort.CreatedAtDescending, 50, null);

        var pages = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => i % 2 == 0
            ? Served(customers.ListAsync(customerPage))
            : Served(contacts.ListAsync(contactPage))));
        var afterPages = PoolConnections(GrainsExtensions.SearchPoolName);
        var shared = PoolConnections(GrainsExtensions.RuntimePoolName);

        // Each kind of search on its own, from empty search pools: four at a time, well within the fixture's turn timeout.
        var kinds = new (string Kind, Func<int, Task<bool>> Search)[]
        {
            ("customers", i => Served(customers.ListAsync(customerPage with { Q = "acme" + i }))),
            ("customers by relevance with a tag", i => Served(customers.ListAsync(customerPage with { Q = "acme" + i, Sort = CustomerSort.Relevance, Tag = "vip" }))),
            ("contacts", i => Served(contacts.ListAsync(contactPage with { Q = "acme" + i }))),
            ("contacts with a tag", i => Served(contacts.ListAsync(contactPage with { Q = "acme" + i, Tag = "vip" }))),
        };
        var afterSearches = new List<(string Kind, bool[] Served, long Connections)>();
        foreach (var (kind, search) in kinds)
        {
            ClearSearchPools(silos);
            var served = await Task.WhenAll(Enumerable.Range(0, 4).Select(search));
            afterSearches.Add((kind, served, PoolConnections(GrainsExtensions.SearchPoolName)));
        }

        RequestContext.Clear();

        pages.Should().AllSatisfy(served => served.Should().BeTrue());
        shared.Should().BeGreaterThan(0, "the metric is read (plain pages run on the shared pool)");
        afterPages.Should().Be(0, "plain pages take no connection of the search pool");
        afterSearches.Should().AllSatisfy(after =>
        {
            after.Served.Should().AllSatisfy(served => served.Should().BeTrue(), after.Kind);
            after.Connections.Should().BeInRange(1, mostConnections,
                $"{after.Kind}: searches run on their own pool, one tenant's one per core and node at once (TenantQueryGate), so it opens no more");
        });
    }

    private static void ClearSearchPools(List<IServiceProvider> silos)
    {
        foreach (var services in silos)
        {
            // No search runs now (the cluster's tests take turns), so this closes every connection of the pool.
            services.GetRequiredKeyedService<NpgsqlDataSource>(TenantDatabase.Searches).Clear();
        }
    }

    private static async Task<bool> Served<T>(Task<Outcome<T>> call) => (await call).Succeeded;

    /// <summary>The connections (idle and used) of every pool of this name in this process, as Npgsql's metric counts them.</summary>
    private static long PoolConnections(string pool)
    {
        long total = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Npgsql" && instrument.Name == "db.client.connection.count")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) => Count(value, tags));
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Count(value, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return total;

        void Count(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "db.client.connection.pool.name" && Equals(tag.Value, pool))
                {
                    total += value;
                }
            }
        }
    }
}
