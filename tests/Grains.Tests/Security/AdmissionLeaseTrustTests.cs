using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Quotas;

namespace Shohayota.Grains.Tests.Security;

/// <summary>An admission lease mints admissions for every user of a tenant: only a node, as the system caller, gets one.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AdmissionLeaseTrustTests(ClusterFixture fixture)
{
    public static TheoryData<string> NotANode => ["the tenant's own admin", "a super-admin"];

    [Theory]
    [MemberData(nameof(NotANode))]
    public async Task OnlyTheSystemCallerLeasesAdmissions(string who)
    {
        var tenant = await fixture.ProvisionAsync();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id));
        EnterAs(who, tenant);

        var lease = () => grain.LeaseAsync(Request(100));

        (await lease.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        var granted = await grain.LeaseAsync(Request(100));
        var quotas = await grain.GetQuotasAsync();
        RequestContext.Clear();
        granted.Granted.Should().BeGreaterThan(0);
        quotas!.Quotas[QuotaNames.ApiCallsMonthly].Used.Should().Be(granted.Granted, "calls are counted when a node leases them, only the system's lease");
    }

    [Theory]
    [MemberData(nameof(NotANode))]
    public async Task OnlyTheSystemCallerSettlesQuotaReservations(string who)
    {
        var tenant = await fixture.ProvisionAsync();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id));
        ClusterFixture.Signer.EnterSystem();
        var before = (await grain.GetQuotasAsync())!.Quotas[QuotaNames.StorageBytes].Used;
        RequestContext.Clear();
        EnterAs(who, tenant);

        // A forged settlement could wipe the counted usage (shrinkage floors at zero) or hold the tenant's room.
        var settle = () => grain.SettleAndReserveAsync(new QuotaSettlement([], [], new QuotaDelta(-1_000_000, -1_000_000, -1_000_000_000)), [new QuotaDelta(1, 0, 100)]);

        (await settle.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        var after = (await grain.GetQuotasAsync())!.Quotas[QuotaNames.StorageBytes].Used;
        var reserved = await grain.SettleAndReserveAsync(QuotaSettlement.None, [new QuotaDelta(1, 0, 100)]);
        RequestContext.Clear();
        before.Should().BeGreaterThan(0, "the tenant's admin takes storage");
        after.Should().Be(before, "the refused settlement changed nothing");
        reserved.Should().ContainSingle().Which.Granted.Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(NotANode))]
    public async Task OnlyTheSystemCallerReservesSettlesOrAdjustsQuota(string who)
    {
        var tenant = await fixture.ProvisionAsync();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id));
        ClusterFixture.Signer.EnterSystem();
        var held = await grain.ReserveAsync(new QuotaDelta(1, 0, 100));
        var before = (await grain.GetQuotasAsync())!.Quotas[QuotaNames.StorageBytes].Used;
        RequestContext.Clear();
        EnterAs(who, tenant);

        // A forged shrink would floor the counted usage at zero; a forged reservation would hold the tenant's room.
        Func<Task>[] forged =
        [
            () => grain.ReserveAsync(new QuotaDelta(1_000_000, 0, 0)),
            () => grain.SettleAsync(held.Id, committed: false),
            () => grain.AdjustAsync(new QuotaDelta(-1_000_000, -1_000_000, -1_000_000_000)),
        ];
        foreach (var call in forged)
        {
            (await call.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        }

        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        var after = (await grain.GetQuotasAsync())!.Quotas[QuotaNames.StorageBytes].Used;
        await grain.SettleAsync(held.Id, committed: true);
        var settled = (await grain.GetQuotasAsync())!.Quotas[QuotaNames.StorageBytes].Used;
        RequestContext.Clear();
        held.Granted.Should().BeTrue();
        after.Should().Be(before, "the refused calls changed nothing (the forged shrink would have floored it at zero)");
        settled.Should().Be(before + 100, "the system's settlement counts the reserved write, which the forged one could not release");
    }

    [Theory]
    [MemberData(nameof(NotANode))]
    public async Task OnlyTheSystemCallerReportsTrafficOrFlushesUsage(string who)
    {
        var tenant = await fixture.ProvisionAsync();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id));
        ClusterFixture.Signer.EnterSystem();
        var before = (await grain.GetUsageAsync())!;
        RequestContext.Clear();
        EnterAs(who, tenant);

        // Forged samples would fill the day's error counters and open error-rate alerts for the tenant.
        var report = () => grain.ReportTrafficAsync(new TrafficSample(1_000, 0, 1_000, new long[LatencyHistogram.Buckets]));
        var flush = () => grain.FlushAsync();

        (await report.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        (await flush.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();
        var after = (await grain.GetUsageAsync())!;
        await grain.FlushAsync();
        RequestContext.Clear();
        after.Should().BeEquivalentTo(before, "the refused report counted nothing");
    }

    [Fact]
    public async Task OnlyTheUsersOwnGrainReportsItsStatusToAdmission()
    {
        var tenant = await fixture.ProvisionAsync();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id));
        ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var created = await fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(tenant.Tenant.Id, Guid.NewGuid()))
            .CreateAsync(new CreateUserRequest($"member{suffix}@tests.local", "Member", "member-password-long", Roles.Member));
        var member = created.Value!.Id;
        (await fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(tenant.Tenant.Id, member)).SetDisabledAsync(true)).Succeeded.Should().BeTrue();
        var disabled = await grain.CheckAsync(member, write: false);

        // The tenant's own admin tries to re-admit the disabled user without enabling it.
        var forged = () => grain.UserStatusChangedAsync(member, disabled: false);

        (await forged.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.Forbidden);
        var still = await grain.CheckAsync(member, write: false);
        (await fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(tenant.Tenant.Id, member)).SetDisabledAsync(false)).Succeeded.Should().BeTrue();
        var enabled = await grain.CheckAsync(member, write: false);
        RequestContext.Clear();
        disabled.Allowed.Should().BeFalse("the user's grain told admission, as the system");
        still.Allowed.Should().BeFalse();
        enabled.Allowed.Should().BeTrue();
    }

    [Fact]
    public async Task AnotherTenantsCallerCannotLeaseAdmissions()
    {
        var a = await fixture.ProvisionAsync();
        var b = await fixture.ProvisionAsync();
        ClusterFixture.As(a.Tenant.Id, a.AdminId);

        var lease = () => fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(b.Tenant.Id)).LeaseAsync(Request(100));

        (await lease.Should().ThrowAsync<TenantAccessDeniedException>()).Which.Failure.Should().Be(Failure.NotFound);
        RequestContext.Clear();
    }

    [Fact]
    public async Task UnusedAdmissionsGivenBackAreNotCounted()
    {
        var tenant = await fixture.ProvisionAsync();
        var grain = fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Tenant.Id));
        var node = Guid.NewGuid();
        RequestContext.Clear();
        ClusterFixture.Signer.EnterSystem();

        var lease = await grain.LeaseAsync(Request(50, node));
        await grain.LeaseAsync(Request(0, node) with { Used = 7, Unused = lease.Granted - 7 });
        var quotas = await grain.GetQuotasAsync();
        RequestContext.Clear();

        lease.Granted.Should().Be(50);
        quotas!.Quotas[QuotaNames.ApiCallsMonthly].Used.Should().Be(7);
    }

    /// <summary>Signs the calls that follow as <paramref name="who"/> (one of <see cref="NotANode"/>).</summary>
    private static void EnterAs(string who, ProvisionedTenant tenant)
    {
        if (who == "a super-admin")
        {
            ClusterFixture.AsSuperAdmin();
        }
        else
        {
            ClusterFixture.As(tenant.Tenant.Id, tenant.AdminId);
        }
    }

    private static AdmissionLeaseRequest Request(int want, Guid? node = null) =>
        new(node ?? Guid.NewGuid(), null, 0, want, 0, 0, [], TimeSpan.FromSeconds(1));
}
