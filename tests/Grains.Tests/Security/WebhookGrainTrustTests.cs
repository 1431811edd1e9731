using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Support;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Webhooks;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// The webhooks grain decides who may do what from the signed caller, whatever the front end checked: called from a
/// cluster client on the gateway, an API key, a support session, or a member registers, reads,
/// rotates or deletes nothing, another tenant's admin does not reach the grain; only the system disables a webhook or opens its alert.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WebhookGrainTrustTests(ClusterFixture fixture)
{
    private static readonly WebhookRequest Request = new("https://93.184.215.14/hook", ["customer.created"], false);

    [Fact]
    public async Task OnlyTheTenantsAdminInPersonManagesItsWebhooks()
    {
        var tenant = await fixture.ProvisionAsync();
        var other = await fixture.ProvisionAsync();
        var webhooks = fixture.Grains.GetGrain<IWebhooksGrain>(GrainKeys.Webhooks(tenant.Tenant.Id));
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var created = await webhooks.CreateAsync(Request);
        RequestContext.Clear();
        var id = created.Value!.Webhook.Id;
        var session = await OpenSupportSessionAsync(tenant);
        Caller[] refused =
        [
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.TenantAdmin, Caller.ApiKeyActor("job"), ApiKey: true),
            new(tenant.Tenant.Id, tenant.AdminId, Roles.TenantAdmin, tenant.AdminEmail, SupportSession: session, SupportBy: "root@tests.local"),
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.Member, "member@tests.local"),
        ];

        foreach (var caller in refused)
        {
            Enter(caller);
            (await webhooks.CreateAsync(Request)).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await webhooks.ListAsync()).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await webhooks.UpdateAsync(id, Request with { Url = "https://93.184.215.15/elsewhere" })).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await webhooks.RotateSecretAsync(id)).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await webhooks.DeliveriesAsync(id, 10)).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await webhooks.DeleteAsync(id)).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            RequestContext.Clear();
        }

        // Another tenant's admin does not reach the grain at all: the isolation filter answers as for a missing one.
        ClusterFixture.As(other.Tenant.Id, other.AdminId);
        var foreign = () => webhooks.RotateSecretAsync(id);
        (await foreign.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.NotFound);
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var listed = await webhooks.ListAsync();
        RequestContext.Clear();
        created.Succeeded.Should().BeTrue();
        listed.Value.Should().ContainSingle().Which.Should().BeEquivalentTo(created.Value.Webhook, "no refused caller changed it");
    }

    [Fact]
    public async Task OnlyTheSystemDisablesAWebhookOrOpensAnAlert()
    {
        var tenant = await fixture.ProvisionAsync();
        var webhooks = fixture.Grains.GetGrain<IWebhooksGrain>(GrainKeys.Webhooks(tenant.Tenant.Id));
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var id = (await webhooks.CreateAsync(Request with { Active = true })).Value!.Webhook.Id;

        var disable = () => webhooks.DisableAsync(id, "forged");
        var alert = () => fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id)).SetAlertAsync("webhook:forged", "forged");
        (await disable.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        (await alert.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        var listed = await webhooks.ListAsync();
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        await webhooks.DisableAsync(id, "failed for the retry period.");
        var alerts = await fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id)).GetAlertsAsync();
        RequestContext.Clear();

        listed.Value!.Single().Active.Should().BeTrue("the forged disable changed nothing");
        alerts.Should().ContainSingle(a => a.Metric == $"webhook:{id}").Which.Level.Should().Be("critical");
        alerts.Should().NotContain(a => a.Metric == "webhook:forged");
    }

    private async Task<Guid> OpenSupportSessionAsync(ProvisionedTenant tenant)
    {
        ClusterFixture.AsSuperAdmin();
        var opened = await fixture.Grains.GetGrain<ISupportSessionsGrain>(GrainKeys.SupportSessions(tenant.Tenant.Id))
            .OpenAsync(new OpenSupportSessionRequest(tenant.AdminId, "trust tests", 10));
        RequestContext.Clear();
        return opened.Value?.Session.Id ?? throw new InvalidOperationException(opened.Detail);
    }

    private static void Enter(Caller caller)
    {
        RequestContext.Clear();
        ClusterFixture.Signer.Enter(caller);
    }
}
