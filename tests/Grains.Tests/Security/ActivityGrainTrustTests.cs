using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// Activity grains decide from the signed caller and their own tenant, whatever the route checked: called from a
/// cluster client on the gateway, a caller of tenant A neither reaches B's activities nor links A's to B's records, and
/// the grain applies the rules itself (a note is never due nor done).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ActivityGrainTrustTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AnActivityGrainTakesOnlyItsTenantsRecordsAndAnotherTenantsCallerIsRefused()
    {
        var a = await fixture.ProvisionAsync();
        var b = await fixture.ProvisionAsync();
        ClusterFixture.As(b.Tenant.Id, b.AdminId);
        var theirCustomer = await CreateCustomerAsync(b.Tenant.Id, "B's customer");
        var theirContact = (await fixture.Grains.GetGrain<IContactGrain>(GrainKeys.Contact(b.Tenant.Id, Guid.NewGuid()))
            .CreateAsync(new ContactFields(null, "B's contact", null, null, null, null, null, [], null))).Value!.Id;
        var theirs = (await fixture.Grains.GetGrain<IActivityGrain>(GrainKeys.Activity(b.Tenant.Id, Guid.NewGuid()))
            .CreateAsync(new ActivityFields(ActivityTypes.Note, "B's note", "private", null, null, theirCustomer, null, null))).Value!;
        ClusterFixture.As(a.Tenant.Id, a.AdminId);
        var ownCustomer = await CreateCustomerAsync(a.Tenant.Id, "A's customer");
        var valid = new ActivityFields(ActivityTypes.Task, "Call back", null, null, null, ownCustomer, null, null);
        IActivityGrain NewActivity() => fixture.Grains.GetGrain<IActivityGrain>(GrainKeys.Activity(a.Tenant.Id, Guid.NewGuid()));

        var attempts = new Dictionary<string, Outcome<ActivityDetails>>
        {
            ["B's customer"] = await NewActivity().CreateAsync(valid with { CustomerId = theirCustomer }),
            ["B's contact"] = await NewActivity().CreateAsync(valid with { CustomerId = null, ContactId = theirContact }),
            ["B's admin as assignee"] = await NewActivity().CreateAsync(valid with { AssigneeUserId = b.AdminId }),
            ["no link"] = await NewActivity().CreateAsync(valid with { CustomerId = null }),
            ["a note that is done"] = await NewActivity().CreateAsync(valid with { Type = ActivityTypes.Note, Done = true }),
            ["a note that is due"] = await NewActivity().CreateAsync(valid with { Type = ActivityTypes.Note, DueAt = DateTimeOffset.UtcNow }),
            ["a body over 20,000 characters"] = await NewActivity().CreateAsync(valid with { Body = new string('x', 20_001) }),
        };
        var readTheirs = () => fixture.Grains.GetGrain<IActivityGrain>(GrainKeys.Activity(b.Tenant.Id, theirs.Id)).GetAsync();
        var completeTheirs = () => fixture.Grains.GetGrain<IActivityGrain>(GrainKeys.Activity(b.Tenant.Id, theirs.Id)).CompleteAsync(true, null);
        var listTheirs = () => fixture.Grains.GetGrain<IActivityQueryGrain>(GrainKeys.ActivityQuery(b.Tenant.Id))
            .ListAsync(new ActivityQuery(null, null, null, null, null, null, null, null, ActivitySort.CreatedAtAscending, 50, null));
        await readTheirs.Should().ThrowAsync<TenantAccessDeniedException>();
        await completeTheirs.Should().ThrowAsync<TenantAccessDeniedException>();
        await listTheirs.Should().ThrowAsync<TenantAccessDeniedException>();
        var ownList = await fixture.Grains.GetGrain<IActivityQueryGrain>(GrainKeys.ActivityQuery(a.Tenant.Id))
            .ListAsync(new ActivityQuery(null, null, null, null, null, theirCustomer, null, null, ActivitySort.CreatedAtAscending, 50, null));
        RequestContext.Clear();

        attempts.Should().AllSatisfy(attempt => attempt.Value.Failure.Should().Be(Failure.Validation, attempt.Key));
        ownList.Value!.Items.Should().BeEmpty("B's customer's activities are not A's to list");
    }

    private async Task<Guid> CreateCustomerAsync(Guid tenant, string name) =>
        (await fixture.Grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(tenant, Guid.NewGuid()))
            .CreateAsync(new CustomerFields(name, null, null, null, CustomerStatuses.Default, [], null, null))).Value!.Id;
}
