using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Tests.Users;

/// <summary>
/// The per-account sign-in state lives in the account's one activation, so it holds whichever silo (front end) an
/// attempt enters through.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class UserSignInTests(ClusterFixture fixture)
{
    [Fact]
    public async Task FailuresEnteringThroughOneSiloMakeTheAddressWaitThroughTheOtherButNotTheOwner()
    {
        var tenant = await fixture.ProvisionAsync();
        var silos = fixture.Cluster.Silos.Cast<InProcessSiloHandle>().Select(s => s.SiloHost.Services.GetRequiredService<IGrainFactory>()).ToList();
        silos.Should().HaveCount(2);
        var key = GrainKeys.User(tenant.Tenant.Id, tenant.AdminId);

        var failures = new List<Failure>();
        for (var i = 0; i < 3; i++)
        {
            failures.Add((await SignInAsync(silos[0], key, "wrong-password", "203.0.113.5")).Failure);
        }

        var throughTheOther = await SignInAsync(silos[1], key, "tenant-admin-password", "203.0.113.5");
        var owner = await SignInAsync(silos[1], key, "tenant-admin-password", "2001:db8:1:2:3:4:5:6");

        failures.Should().AllBeEquivalentTo(Failure.InvalidCredentials);
        throughTheOther.Failure.Should().Be(Failure.RateLimited, "three failures through the first silo make the address wait on every silo");
        throughTheOther.RetryAfter.Should().BePositive();
        owner.Failure.Should().Be(Failure.None, "the owner's address has not failed");
    }

    private static async Task<Outcome<SignIn>> SignInAsync(IGrainFactory grains, string key, string password, string address)
    {
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        try
        {
            return await grains.GetGrain<IUserGrain>(key).SignInAsync(password, address);
        }
        finally
        {
            RequestContext.Clear();
        }
    }
}
