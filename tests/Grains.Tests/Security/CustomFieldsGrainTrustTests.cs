using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// The custom-fields grain decides from the signed caller and its own tenant, whatever the route checked: called from a
/// cluster client on the gateway, a member (or a member's key) cannot change the definitions, and a record grain checks
/// the values against them itself.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CustomFieldsGrainTrustTests(ClusterFixture fixture)
{
    private static readonly CustomFieldDefinition Industry = new("industry", "Industry", CustomFieldTypes.Text, [], false);

    [Fact]
    public async Task AMemberOrAMemberKeyCallingReplaceFromAClusterClientChangesNothingWhileTheTenantsAdminMay()
    {
        var tenant = await fixture.ProvisionAsync();
        var other = await fixture.ProvisionAsync();
        var fields = fixture.Grains.GetGrain<ICustomFieldsGrain>(GrainKeys.CustomFields(tenant.Tenant.Id));
        Caller[] refused =
        [
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.Member, "member@tenant.test"),
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.Member, Caller.ApiKeyActor("job"), ApiKey: true),
        ];

        var outcomes = new List<Outcome<IReadOnlyList<CustomFieldDefinition>>>();
        foreach (var caller in refused)
        {
            RequestContext.Clear();
            ClusterFixture.Signer.Enter(caller);
            outcomes.Add(await fields.ReplaceAsync(CustomFieldRecordTypes.Customers, [Industry]));
        }

        ClusterFixture.As(other.Tenant.Id, other.AdminId);
        var foreignAdmin = () => fields.ReplaceAsync(CustomFieldRecordTypes.Customers, [Industry]);
        await foreignAdmin.Should().ThrowAsync<TenantAccessDeniedException>("another tenant's admin does not reach this tenant's custom fields");
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var unchanged = await fields.GetAsync(CustomFieldRecordTypes.Customers);
        var byAdmin = await fields.ReplaceAsync(CustomFieldRecordTypes.Customers, [Industry]);
        var after = await fields.GetAsync(CustomFieldRecordTypes.Customers);
        RequestContext.Clear();

        outcomes.Should().OnlyContain(o => o.Failure == Failure.Forbidden);
        unchanged.Should().BeEmpty();
        byAdmin.Succeeded.Should().BeTrue(byAdmin.Detail);
        after.Should().ContainSingle().Which.Should().BeEquivalentTo(Industry);
    }

    [Fact]
    public async Task ARecordGrainChecksTheValuesAgainstTheDefinitionsItself()
    {
        var tenant = await fixture.ProvisionAsync();
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        (await fixture.Grains.GetGrain<ICustomFieldsGrain>(GrainKeys.CustomFields(tenant.Tenant.Id))
            .ReplaceAsync(CustomFieldRecordTypes.Customers, [Industry with { Required = true }])).Succeeded.Should().BeTrue();
        ICustomerGrain New() => fixture.Grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(tenant.Tenant.Id, Guid.NewGuid()));
        var fields = new CustomerFields("Acme", null, null, null, CustomerStatuses.Default, [], null, null);

        var attempts = new Dictionary<string, Outcome<CustomerDetails>>
        {
            ["an unknown key"] = await New().CreateAsync(fields with { CustomFields = """{"industry":"x","size":1}""" }),
            ["a number for text"] = await New().CreateAsync(fields with { CustomFields = """{"industry":1}""" }),
            ["the required field missing"] = await New().CreateAsync(fields),
            ["not canonical"] = await New().CreateAsync(fields with { CustomFields = """{ "industry": "x" }""" }),
        };
        var valid = await New().CreateAsync(fields with { CustomFields = """{"industry":"Bakery"}""" });
        RequestContext.Clear();

        attempts.Should().AllSatisfy(attempt => attempt.Value.Failure.Should().Be(Failure.Validation, attempt.Key));
        valid.Succeeded.Should().BeTrue(valid.Detail);
        valid.Value!.CustomFields.Should().Be("""{"industry":"Bakery"}""");
    }
}
