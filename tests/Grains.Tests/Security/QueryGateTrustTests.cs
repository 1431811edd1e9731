using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// The node's <see cref="TenantQueryGate"/> lives in the query grains, so a cluster client on the gateway is held to it
/// like an HTTP caller: with every turn of a tenant taken on every node, its customer and contact searches wait
/// <see cref="TenantQueryGate.TurnTimeout"/> and answer tenant-busy, its plain pages and another tenant's searches are
/// served, and a search is served again once the turns are free.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class QueryGateTrustTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AClusterClientsSearchesWaitForTheTenantsTurnAndAreRefusedTenantBusyWhileItsPlainPagesAreServed()
    {
        var tenant = await fixture.ProvisionAsync();
        var other = await fixture.ProvisionAsync();
        var id = tenant.Tenant.Id;
        var gates = fixture.Cluster.Silos.Cast<InProcessSiloHandle>()
            .Select(s => s.SiloHost.Services.GetRequiredService<TenantQueryGate>()).ToList();
        var customerSearch = new CustomerQuery("acme", null, null, null, CustomerSort.CreatedAtDescending, 50, null);
        var contactSearch = new ContactQuery("acme", null, null, null, ContactSort.CreatedAtDescending, 50, null);

        // The tenant's turns on each node, as searches in flight would hold them.
        var turns = new List<TenantQueryGate.Turn>();
        foreach (var gate in gates)
        {
            for (var i = 0; i < gate.Limit; i++)
            {
                turns.Add(await gate.TryEnterAsync(id) ?? throw new InvalidOperationException("The gate had no free turn."));
            }
        }

        ClusterFixture.As(id, tenant.AdminId);
        var customers = fixture.Grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(id));
        var contacts = fixture.Grains.GetGrain<IContactQueryGrain>(GrainKeys.ContactQuery(id));
        var clock = Stopwatch.StartNew();
        var busyCustomers = await customers.ListAsync(customerSearch);
        var waited = clock.Elapsed;
        var busyContacts = await contacts.ListAsync(contactSearch);
        var customerPage = await customers.ListAsync(customerSearch with { Q = null });
        var contactPage = await contacts.ListAsync(contactSearch with { Q = null });
        ClusterFixture.As(other.Tenant.Id, other.AdminId);
        var elsewhere = await fixture.Grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(other.Tenant.Id)).ListAsync(customerSearch);

        turns.ForEach(t => t.Dispose());
        ClusterFixture.As(id, tenant.AdminId);
        var served = await customers.ListAsync(customerSearch);
        RequestContext.Clear();

        busyCustomers.Failure.Should().Be(Failure.TenantBusy, "every turn of the tenant was taken on every node");
        busyCustomers.RetryAfter.Should().Be(TenantQueryGate.BusyRetryAfter);
        busyContacts.Failure.Should().Be(Failure.TenantBusy);
        waited.Should().BeGreaterThanOrEqualTo(gates[0].TurnTimeout - TimeSpan.FromMilliseconds(100), "the search waited for its turn first");
        customerPage.Succeeded.Should().BeTrue("a plain page takes no turn");
        contactPage.Succeeded.Should().BeTrue("a plain page takes no turn");
        elsewhere.Succeeded.Should().BeTrue("another tenant's searches have turns of their own");
        served.Succeeded.Should().BeTrue("the turns were free again");
        gates.Should().OnlyContain(g => g.TenantsInFlight == 0, "the refused searches hold no turn");
    }
}
