using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Tests.Security;

[Collection(ClusterCollection.Name)]
public sealed class TenantIsolationFilterTests(ClusterFixture fixture)
{
    [Fact]
    public async Task ACallWithoutAnAuthenticatedCallerIsRefused()
    {
        var tenant = await fixture.ProvisionAsync();
        RequestContext.Clear();

        var call = () => fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(tenant.Tenant.Id, tenant.AdminId)).GetAsync();

        await call.Should().ThrowAsync<TenantAccessDeniedException>();
    }

    [Fact]
    public async Task ACallerOfOneTenantCannotReachAnotherTenantsUserGrain()
    {
        var a = await fixture.ProvisionAsync();
        var b = await fixture.ProvisionAsync();
        ClusterFixture.As(a.Tenant.Id, a.AdminId);

        var read = () => fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(b.Tenant.Id, b.AdminId)).GetAsync();
        var write = () => fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(b.Tenant.Id, b.AdminId)).SetDisabledAsync(true);

        (await read.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.NotFound);
        await write.Should().ThrowAsync<TenantAccessDeniedException>();
        ClusterFixture.AsSuperAdmin();
        (await fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(b.Tenant.Id, b.AdminId)).GetAsync())!.Disabled.Should().BeFalse();
    }

    [Fact]
    public async Task ACallerOfOneTenantCannotReachAnotherTenantsTenantGrain()
    {
        var a = await fixture.ProvisionAsync();
        var b = await fixture.ProvisionAsync();
        ClusterFixture.As(a.Tenant.Id, a.AdminId);

        var call = () => fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(b.Tenant.Id)).GetAsync();

        await call.Should().ThrowAsync<TenantAccessDeniedException>();
    }

    [Fact]
    public async Task ACallerOfTheSameTenantIsAdmittedWhileTheTenantIsActive()
    {
        var a = await fixture.ProvisionAsync();
        ClusterFixture.As(a.Tenant.Id, a.AdminId);

        var user = await fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(a.Tenant.Id, a.AdminId)).GetAsync();

        user!.Email.Should().Be(a.AdminEmail);
    }

    [Fact]
    public async Task ASuspendedTenantsCallsAreRefusedAtTheGrainBoundary()
    {
        var a = await fixture.ProvisionAsync();
        ClusterFixture.AsSuperAdmin();
        await fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(a.Tenant.Id)).SuspendAsync("test");
        ClusterFixture.As(a.Tenant.Id, a.AdminId);

        var call = () => fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(a.Tenant.Id, a.AdminId)).GetAsync();

        (await call.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.TenantSuspended);
    }

    [Fact]
    public async Task ACanceledTenantMayReadButNotWriteThroughGrains()
    {
        var a = await fixture.ProvisionAsync();
        ClusterFixture.AsSuperAdmin();
        await fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(a.Tenant.Id)).CancelAsync();
        ClusterFixture.As(a.Tenant.Id, a.AdminId);
        var grain = fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(a.Tenant.Id, a.AdminId));

        var read = await grain.GetAsync();
        var write = () => grain.SetDisabledAsync(false);

        read.Should().NotBeNull();
        (await write.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.TenantCanceled);
    }

    [Fact]
    public async Task OnlySuperAdminsChangeATenantsStatus()
    {
        var a = await fixture.ProvisionAsync();
        ClusterFixture.As(a.Tenant.Id, a.AdminId);

        var outcome = await fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(a.Tenant.Id)).SuspendAsync("self");

        outcome.Failure.Should().Be(Failure.Forbidden);
        ClusterFixture.AsSuperAdmin();
        (await fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(a.Tenant.Id)).GetAsync())!.Status.Should().Be(TenantStatus.Active);
    }
}
