using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// The pipeline and deal grains decide from the signed caller and their own tenant, whatever the route checked: called
/// from a cluster client on the gateway, a member cannot reshape the pipeline, and a deal names only its tenant's
/// customer, contacts and stages, with the status its stage gives it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DealGrainTrustTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AMemberOrAMemberKeyCallingReplaceFromAClusterClientChangesNothingWhileTheTenantsAdminMay()
    {
        var tenant = await fixture.ProvisionAsync();
        var other = await fixture.ProvisionAsync();
        var pipeline = fixture.Grains.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(tenant.Tenant.Id));
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var before = await pipeline.StagesAsync();
        var renamed = before.Select(s => new PipelineStageInput(s.Id, s.Name + " (renamed)", s.Kind, s.Probability)).ToList();
        Caller[] refused =
        [
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.Member, "member@tenant.test"),
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.Member, Caller.ApiKeyActor("job"), ApiKey: true),
        ];

        var outcomes = new List<Outcome<PipelineChange>>();
        foreach (var caller in refused)
        {
            RequestContext.Clear();
            ClusterFixture.Signer.Enter(caller);
            outcomes.Add(await pipeline.ReplaceAsync(renamed, null));
        }

        ClusterFixture.As(other.Tenant.Id, other.AdminId);
        var foreignAdmin = () => pipeline.ReplaceAsync(renamed, null);
        await foreignAdmin.Should().ThrowAsync<TenantAccessDeniedException>("another tenant's admin does not reach this tenant's pipeline");
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var unchanged = await pipeline.StagesAsync();
        var byAdmin = await pipeline.ReplaceAsync(renamed, null);
        var after = await pipeline.StagesAsync();
        RequestContext.Clear();

        outcomes.Should().OnlyContain(o => o.Failure == Failure.Forbidden);
        before.Select(s => s.Name).Should().Equal("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost");
        unchanged.Should().Equal(before);
        byAdmin.Succeeded.Should().BeTrue(byAdmin.Detail);
        after.Select(s => s.Name).Should().Equal(renamed.Select(s => s.Name));
    }

    [Fact]
    public async Task ADealGrainTakesOnlyItsTenantsCustomerContactsAndStagesAndSetsTheStatusFromTheStage()
    {
        var a = await fixture.ProvisionAsync();
        var b = await fixture.ProvisionAsync();
        ClusterFixture.As(b.Tenant.Id, b.AdminId);
        var theirCustomer = await CreateCustomerAsync(b.Tenant.Id, "B's customer");
        var theirContact = (await fixture.Grains.GetGrain<IContactGrain>(GrainKeys.Contact(b.Tenant.Id, Guid.NewGuid()))
            .CreateAsync(new ContactFields(null, "B's contact", null, null, null, null, null, [], null))).Value!.Id;
        var theirStage = (await fixture.Grains.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(b.Tenant.Id)).StagesAsync())[0].Id;
        ClusterFixture.As(a.Tenant.Id, a.AdminId);
        var ownCustomer = await CreateCustomerAsync(a.Tenant.Id, "A's customer");
        var stages = await fixture.Grains.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(a.Tenant.Id)).StagesAsync();
        var valid = new DealFields("Deal", ownCustomer, [], 10m, "EUR", null, null, null);
        IDealGrain NewDeal() => fixture.Grains.GetGrain<IDealGrain>(GrainKeys.Deal(a.Tenant.Id, Guid.NewGuid()));

        var attempts = new Dictionary<string, Outcome<DealDetails>>
        {
            ["B's customer"] = await NewDeal().CreateAsync(valid with { CustomerId = theirCustomer }),
            ["B's contact"] = await NewDeal().CreateAsync(valid with { ContactIds = [theirContact] }),
            ["B's stage"] = await NewDeal().CreateAsync(valid with { StageId = theirStage }),
            ["B's admin as owner"] = await NewDeal().CreateAsync(valid with { OwnerUserId = b.AdminId }),
            ["five decimals"] = await NewDeal().CreateAsync(valid with { Amount = 1.23456m }),
            ["a lower-case currency"] = await NewDeal().CreateAsync(valid with { Currency = "eur" }),
        };
        var forged = await NewDeal().CreateAsync(valid with { StageId = stages[0].Id, Status = DealStatuses.Won });
        var deal = fixture.Grains.GetGrain<IDealGrain>(GrainKeys.Deal(a.Tenant.Id, forged.Value!.Id));
        var movedAway = await deal.MoveToStageAsync(theirStage, null);
        var updatedAway = await deal.UpdateAsync(valid with { StageId = theirStage }, null);
        var list = await fixture.Grains.GetGrain<IDealQueryGrain>(GrainKeys.DealQuery(a.Tenant.Id))
            .ListAsync(new DealQuery(null, null, null, null, null, DealSort.CreatedAtAscending, 50, null));
        RequestContext.Clear();

        attempts.Should().AllSatisfy(attempt => attempt.Value.Failure.Should().Be(Failure.Validation, attempt.Key));
        forged.Value!.Status.Should().Be(DealStatuses.Open, "the status is the stage's kind, never the caller's");
        forged.Value.ClosedAt.Should().BeNull();
        movedAway.Failure.Should().Be(Failure.Validation);
        updatedAway.Failure.Should().Be(Failure.Validation);
        list.Value!.Items.Should().ContainSingle().Which.Status.Should().Be(DealStatuses.Open, "nothing else was written, and the row holds the stage's kind");
    }

    private async Task<Guid> CreateCustomerAsync(Guid tenant, string name) =>
        (await fixture.Grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(tenant, Guid.NewGuid()))
            .CreateAsync(new CustomerFields(name, null, null, null, CustomerStatuses.Default, [], null, null))).Value!.Id;
}
