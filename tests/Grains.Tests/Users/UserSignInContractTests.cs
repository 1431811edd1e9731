using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Tests.Users;

/// <summary>The side-effect-free password check (for e-mails held in several tenants) and the refresh-token lookup are the sign-in service's alone.</summary>
[Collection(ClusterCollection.Name)]
public sealed class UserSignInContractTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData(Roles.TenantAdmin)]
    [InlineData(Roles.Member)]
    [InlineData(Roles.SuperAdmin)]
    public async Task OnlyTheSystemCallerChecksAPasswordOrRecordsAFailedSignIn(string role)
    {
        var tenant = await fixture.ProvisionAsync();
        var user = fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(tenant.Tenant.Id, tenant.AdminId));
        if (role == Roles.SuperAdmin)
        {
            ClusterFixture.AsSuperAdmin();
        }
        else
        {
            ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId, role);
        }

        var directory = fixture.Grains.GetGrain<IRefreshTokenDirectoryGrain>("refresh-tokens");
        var lookUp = () => directory.FindAsync(tenant.Tenant.Id, tenant.AdminId, Guid.NewGuid(), "any-secret");
        var check = () => user.CheckPasswordAsync("tenant-admin-password", "198.51.100.1");
        var record = () => user.RecordFailedSignInAsync("198.51.100.1");

        (await check.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        await record.Should().ThrowAsync<TenantAccessDeniedException>();
        (await lookUp.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden,
            "a token's state is the sign-in service's business, not a tenant caller's");
        RequestContext.Clear();
        ClusterFixture.Signer.Enter(Caller.System);
        (await user.CheckPasswordAsync("tenant-admin-password", "198.51.100.1")).Value.Should().BeTrue();
        (await user.CheckPasswordAsync("another-password", "198.51.100.1")).Value.Should().BeFalse();
        (await directory.FindAsync(tenant.Tenant.Id, tenant.AdminId, Guid.NewGuid(), "any-secret")).Should().Be(RefreshTokenStatus.Unknown);
    }
}
