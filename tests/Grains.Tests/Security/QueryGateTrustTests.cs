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

        var heldTurns = new List<TenantQueryGate.Turn>();
        foreach (var gate in gates)
        {
            for (var i = 0; i < gate.Limit; i++)
            {
                heldTurns.Add(await gate.TryEnterAsync(id) ?? throw new InvalidOperationException("The gate had no free turn."));
            }
        }

        ClusterFixture.As(id, tenant.AdminId);
        var customers = fixture.Grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(id));
        var contacts = fixture.Grains.GetGrain<IContactQueryGrain>(GrainKeys.ContactQuery(id));
        Outcome<CustomerPage> busyCustomers, customerPage, elsewhere;
        Outcome<ContactPage> busyContacts, contactPage;
        TimeSpan customersWaited, contactsWaited;
        try
        {
            var clock = Stopwatch.StartNew();
            busyCustomers = await customers.ListAsync(customerSearch);
            customersWaited = clock.Elapsed;
            clock.Restart();
            busyContacts = await contacts.ListAsync(contactSearch);
            contactsWaited = clock.Elapsed;
            customerPage = await customers.ListAsync(customerSearch with { Q = null });
            contactPage = await contacts.ListAsync(contactSearch with { Q = null });
            ClusterFixture.As(other.Tenant.Id, other.AdminId);
            elsewhere = await fixture.Grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(other.Tenant.Id)).ListAsync(customerSearch);
        }
        finally
        {
            heldTurns.ForEach(t => t.Dispose());
        }

        ClusterFixture.As(id, tenant.AdminId);
        var servedCustomers = await customers.ListAsync(customerSearch);
        var servedContacts = await contacts.ListAsync(contactSearch);
        RequestContext.Clear();

        var timeout = gates[0].TurnTimeout - TimeSpan.FromMilliseconds(100);
        busyCustomers.Failure.Should().Be(Failure.TenantBusy, "every turn of the tenant was taken on every node");
        busyCustomers.RetryAfter.Should().Be(TenantQueryGate.BusyRetryAfter);
        customersWaited.Should().BeGreaterThanOrEqualTo(timeout, "the customer search waited for its turn first");
        busyContacts.Failure.Should().Be(Failure.TenantBusy, "every turn of the tenant was taken on every node");
        busyContacts.RetryAfter.Should().Be(TenantQueryGate.BusyRetryAfter);
        contactsWaited.Should().BeGreaterThanOrEqualTo(timeout, "the contact search waited for its turn first");
        customerPage.Succeeded.Should().BeTrue("a plain page takes no turn");
        contactPage.Succeeded.Should().BeTrue("a plain page takes no turn");
        elsewhere.Succeeded.Should().BeTrue("another tenant's searches have turns of their own");
        servedCustomers.Succeeded.Should().BeTrue("the turns were free again");
        servedContacts.Succeeded.Should().BeTrue("the turns were free again");
        gates.Should().OnlyContain(g => g.TenantsInFlight == 0, "the refused searches hold no turn");
    }
}
