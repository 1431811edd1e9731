using Shohayota.Grains.Interfaces.ApiKeys;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Support;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Users;

namespace Shohayota.Grains.Tests.Security;

/// <summary>
/// The API-key and support-session grains decide who may do what from the signed caller themselves, whatever the front
/// end checked: called from a cluster client on the gateway, an API key or a support session cannot manage keys or
/// support access, a tenant admin cannot open a support session, and only the system looks credentials up.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AccessGrainTrustTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AnApiKeyOrASupportSessionManagesNoKeysAndNoSupportAccessEvenAsTheTenantsAdmin()
    {
        var tenant = await fixture.ProvisionAsync();
        var keys = fixture.Grains.GetGrain<IApiKeysGrain>(GrainKeys.ApiKeys(tenant.Tenant.Id));
        var support = fixture.Grains.GetGrain<ISupportSessionsGrain>(GrainKeys.SupportSessions(tenant.Tenant.Id));
        var session = await OpenAsync(tenant);
        Caller[] notPeople =
        [
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.TenantAdmin, Caller.ApiKeyActor("job"), ApiKey: true),
            new(tenant.Tenant.Id, tenant.AdminId, Roles.TenantAdmin, tenant.AdminEmail, SupportSession: session.Id, SupportBy: "root@tests.local"),
        ];

        foreach (var caller in notPeople)
        {
            Enter(caller);
            (await keys.CreateAsync(new CreateApiKeyRequest("successor", Roles.TenantAdmin, null))).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await keys.ListAsync()).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await support.SetSettingsAsync(new TenantSettings(false))).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await support.EndAsync(session.Id)).Failure.Should().Be(Failure.Forbidden, caller.ToString());
            // Nor plants a user (who would outlive the key or the session), nor disables the tenant's admin.
            var planted = fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(tenant.Tenant.Id, Guid.NewGuid()));
            (await planted.CreateAsync(new CreateUserRequest($"planted-{Guid.NewGuid():N}@tenant.test", "Planted", "a-planted-password", Roles.TenantAdmin)))
                .Failure.Should().Be(Failure.Forbidden, caller.ToString());
            (await fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(tenant.Tenant.Id, tenant.AdminId)).SetDisabledAsync(true))
                .Failure.Should().Be(Failure.Forbidden, caller.ToString());
            RequestContext.Clear();
        }

        // The tenant's admin in person may: the refusals above were about who, not about the tenant.
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var created = await keys.CreateAsync(new CreateApiKeyRequest("allowed", Roles.Member, null));
        var settings = await support.GetSettingsAsync();
        RequestContext.Clear();
        created.Succeeded.Should().BeTrue();
        settings.Value!.AllowSupportAccess.Should().BeTrue("no refused caller changed the setting");
    }

    [Fact]
    public async Task OnlyASuperAdminOpensASupportSessionAndOnlyTheSystemChecksOneOrLooksAKeyUp()
    {
        var tenant = await fixture.ProvisionAsync();
        var support = fixture.Grains.GetGrain<ISupportSessionsGrain>(GrainKeys.SupportSessions(tenant.Tenant.Id));
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var byAdmin = await support.OpenAsync(new OpenSupportSessionRequest(tenant.AdminId, "self-service", 10));
        RequestContext.Clear();
        var session = await OpenAsync(tenant);

        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var activeForAdmin = await support.IsActiveAsync(session.Id);
        var lookup = () => fixture.Grains.GetGrain<IApiKeyDirectoryGrain>("api-keys").FindAsync(new byte[32]);
        var lookupRefused = await lookup.Should().ThrowAsync<TenantAccessDeniedException>();
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        var activeForSystem = await support.IsActiveAsync(session.Id);
        RequestContext.Clear();

        byAdmin.Failure.Should().Be(Failure.Forbidden);
        activeForAdmin.Should().BeFalse("only the system asks whether a session stands");
        lookupRefused.Which.Failure.Should().Be(Failure.Forbidden);
        activeForSystem.Should().BeTrue();
    }

    [Fact]
    public async Task AnEntryWrittenInASupportSessionNamesTheSuperAdminBehindItWhicheverGrainWritesIt()
    {
        var tenant = await fixture.ProvisionAsync();
        var session = await OpenAsync(tenant);
        Enter(new Caller(tenant.Tenant.Id, tenant.AdminId, Roles.TenantAdmin, tenant.AdminEmail, SupportSession: session.Id, SupportBy: "root@tests.local"));

        var entries = await fixture.Grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant.Tenant.Id)).AppendAsync([new AuditDraft("audit.test", "audit", null)]);
        RequestContext.Clear();

        var details = System.Text.Json.Nodes.JsonNode.Parse(entries.Single().Details!)!;
        entries.Single().Actor.Id.Should().Be(tenant.AdminId);
        details["support"]!["session"]!.GetValue<string>().Should().Be(session.Id.ToString("D"));
        details["support"]!["by"]!.GetValue<string>().Should().Be("root@tests.local");
    }

    private async Task<SupportSessionDetails> OpenAsync(ProvisionedTenant tenant)
    {
        ClusterFixture.AsSuperAdmin();
        var opened = await fixture.Grains.GetGrain<ISupportSessionsGrain>(GrainKeys.SupportSessions(tenant.Tenant.Id))
            .OpenAsync(new OpenSupportSessionRequest(tenant.AdminId, "trust tests", 10));
        RequestContext.Clear();
        return opened.Value?.Session ?? throw new InvalidOperationException(opened.Detail);
    }

    [Fact]
    public async Task OnlyTheKeyItselfDrawsOnItsRateLimitWhichComesFromItsRowNotFromTheCaller()
    {
        var tenant = await fixture.ProvisionAsync();
        var other = await fixture.ProvisionAsync();
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var created = await fixture.Grains.GetGrain<IApiKeysGrain>(GrainKeys.ApiKeys(tenant.Tenant.Id))
            .CreateAsync(new CreateApiKeyRequest("partner", Roles.Member, null, RateLimitPerMinute: 2));
        RequestContext.Clear();
        var key = created.Value!.Key;
        var bucket = fixture.Grains.GetGrain<IApiKeyRateGrain>(GrainKeys.ApiKeyRate(tenant.Tenant.Id, key.Id));
        Caller[] strangers =
        [
            new(tenant.Tenant.Id, tenant.AdminId, Roles.TenantAdmin, tenant.AdminEmail),
            new(tenant.Tenant.Id, Guid.NewGuid(), Roles.Member, Caller.ApiKeyActor("another key"), ApiKey: true),
            new(other.Tenant.Id, key.Id, Roles.Member, Caller.ApiKeyActor("partner"), ApiKey: true),
        ];

        foreach (var stranger in strangers)
        {
            Enter(stranger);
            await bucket.Invoking(b => b.LeaseAsync(new KeyRateLease(Guid.NewGuid(), 1, 0, 0))).Should().ThrowAsync<TenantAccessDeniedException>(stranger.ToString());
            RequestContext.Clear();
        }

        Enter(new Caller(tenant.Tenant.Id, key.Id, Roles.Member, Caller.ApiKeyActor("partner"), ApiKey: true));
        var node = Guid.NewGuid();
        var grants = new List<KeyRateGrant>();
        for (var i = 0; i < 3; i++)
        {
            grants.Add(await bucket.LeaseAsync(new KeyRateLease(node, 1, i == 0 ? 0 : 1, 0)));
        }

        RequestContext.Clear();
        grants[0].Granted.Should().Be(1);
        grants[1].Granted.Should().Be(1, "the key's row says 2 a minute, and nobody else drew on it");
        grants[2].Granted.Should().Be(0, "the third in the minute is past the key's own limit");
        grants[2].RetryAfter.Should().BeGreaterThan(TimeSpan.Zero);
    }

    [Fact]
    public async Task ANodeLeasesAtMostAQuarterOfAKeysMinuteAndItsReportsNeverMintRequests()
    {
        var tenant = await fixture.ProvisionAsync();
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var created = await fixture.Grains.GetGrain<IApiKeysGrain>(GrainKeys.ApiKeys(tenant.Tenant.Id))
            .CreateAsync(new CreateApiKeyRequest("bulk", Roles.Member, null, RateLimitPerMinute: 8));
        RequestContext.Clear();
        var key = created.Value!.Key;
        var bucket = fixture.Grains.GetGrain<IApiKeyRateGrain>(GrainKeys.ApiKeyRate(tenant.Tenant.Id, key.Id));
        Enter(new Caller(tenant.Tenant.Id, key.Id, Roles.Member, Caller.ApiKeyActor("bulk"), ApiKey: true));
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());

        var first = await bucket.LeaseAsync(new KeyRateLease(a, 1000, 0, 0));
        var stillHolding = await bucket.LeaseAsync(new KeyRateLease(a, 1000, 0, 0));
        var other = await bucket.LeaseAsync(new KeyRateLease(b, 1000, 0, 0));
        // Then node a reports each grant spent, and b gives its two back unused once.
        var afterReports = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            afterReports.Add((await bucket.LeaseAsync(new KeyRateLease(a, 1000, 2, 0))).Granted);
            if (i == 0)
            {
                (await bucket.LeaseAsync(new KeyRateLease(b, 0, 0, 2))).Granted.Should().Be(1, "b's give-back is settled, then it is granted its one");
            }
        }

        // A node reporting back far more than it was ever granted mints nothing.
        var inflated = await bucket.LeaseAsync(new KeyRateLease(a, 1000, 0, 1_000_000));
        var stranger = await bucket.LeaseAsync(new KeyRateLease(Guid.NewGuid(), 1000, 0, 1_000_000));
        RequestContext.Clear();

        first.Granted.Should().Be(2, "a quarter of 8 a minute");
        stillHolding.Granted.Should().Be(0, "a node holding its quarter gets nothing more until it reports");
        other.Granted.Should().Be(2, "another node has its own quarter");
        afterReports.Should().Equal([2, 2, 1, 0, 0], "a quarter at a time while the minute lasts, then nothing (a's last report claims more spent than it held)");
        (first.Granted + other.Granted + afterReports.Sum() + 1 - 2).Should().Be(8, "every request of the minute granted once, none twice");
        inflated.Granted.Should().Be(0);
        stranger.Granted.Should().Be(0);
    }

    private static void Enter(Caller caller)
    {
        RequestContext.Clear();
        ClusterFixture.Signer.Enter(caller);
    }
}
