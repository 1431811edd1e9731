using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// The audit query grain decides from the signed caller, whatever route led to it: from a cluster client on the gateway
/// a member (or a member's API key) reads neither the tenant's log nor the addresses in a customer's timeline, which the
/// tenant's admins and super-admins do.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AuditQueryTrustTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AMemberCallingFromAClusterClientReadsNoAuditLogAndATimelineWithoutAddresses()
    {
        var tenant = await fixture.ProvisionAsync();
        var id = tenant.Tenant.Id;
        ClusterFixture.As(id, tenant.AdminId);
        Caller.SetOrigin("203.0.113.9", "curl/8.0", null);
        var customer = (await fixture.Grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(id, Guid.NewGuid()))
            .CreateAsync(new CustomerFields("Globex", null, null, null, CustomerStatuses.Default, [], null, null))).Value!.Id;
        var audit = fixture.Grains.GetGrain<IAuditQueryGrain>(GrainKeys.AuditQuery(id));
        var query = new AuditQuery(null, null, null, null, null, null, 50, null);
        var adminLog = await audit.ListAsync(query);
        var adminTimeline = await audit.TimelineAsync(customer, 50, null);
        Caller[] members =
        [
            new(id, Guid.NewGuid(), Roles.Member, "member@tenant.test"),
            new(id, Guid.NewGuid(), Roles.Member, Caller.ApiKeyActor("job"), ApiKey: true),
        ];

        var refused = new List<Exception?>();
        var timelines = new List<AuditPage>();
        foreach (var member in members)
        {
            RequestContext.Clear();
            ClusterFixture.Signer.Enter(member);
            refused.Add(await Record.ExceptionAsync(() => audit.ListAsync(query)));
            timelines.Add(await audit.TimelineAsync(customer, 50, null));
        }

        ClusterFixture.AsSuperAdmin();
        var superLog = await audit.ListAsync(query);
        RequestContext.Clear();

        adminLog.Items.Should().Contain(e => e.Action == "customer.created" && e.Ip == "203.0.113.9");
        adminTimeline.Items.Should().ContainSingle().Which.Ip.Should().Be("203.0.113.9");
        refused.Should().AllSatisfy(e => e.Should().BeOfType<TenantAccessDeniedException>());
        timelines.Should().AllSatisfy(page =>
        {
            page.Items.Should().ContainSingle().Which.Action.Should().Be("customer.created");
            page.Items.Should().OnlyContain(e => e.Ip == null && e.UserAgent == null);
        });
        superLog.Items.Should().Contain(e => e.Action == "customer.created");
    }
}
