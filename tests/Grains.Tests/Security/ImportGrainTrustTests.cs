using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Records;

namespace Shohayota.Grains.Tests.Security;

/// <summary>The import grain decides who may import from the signed caller, whatever the route checked.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ImportGrainTrustTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AMemberCallingTheGrainFromAClusterClientImportsNothingWhileTheTenantsAdminMay()
    {
        var tenant = await fixture.ProvisionAsync();
        var imports = fixture.Grains.GetGrain<IImportGrain>(GrainKeys.Imports(tenant.Tenant.Id));
        var request = new ImportRequest<CustomerFields>(
            [new ImportRow<CustomerFields>(2, new CustomerFields("Imported", "imported@example.com", null, null, CustomerStatuses.Default, [], null, null))],
            ["name", "email"], DryRun: false, ImportDuplicates.Error, FileRows: 1, ParseErrors: []);

        ClusterFixture.As(tenant.Tenant.Id, Guid.NewGuid(), Roles.Member);
        var byMember = await imports.ImportCustomersAsync(request);
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var byAdmin = await imports.ImportCustomersAsync(request);
        var page = await fixture.Grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(tenant.Tenant.Id))
            .ListAsync(new CustomerQuery(null, null, null, null, CustomerSort.CreatedAtDescending, 10, null));
        RequestContext.Clear();

        byMember.Failure.Should().Be(Failure.Forbidden);
        byAdmin.Succeeded.Should().BeTrue(byAdmin.Detail);
        byAdmin.Value!.Created.Should().Be(1);
        page.Value!.Items.Select(c => c.Name).Should().Equal("Imported");
    }
}
