using Microsoft.Extensions.Logging;
using Shohayota.Grains.Diagnostics;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Diagnostics;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Tests.Security;

/// <summary>The live probe's expected refusals are no alarm; a real refused cross-tenant call is one.</summary>
[Collection(ClusterCollection.Name)]
public sealed class IsolationLoggingTests(ClusterFixture fixture)
{
    [Fact]
    public async Task TheIsolationProbesRefusalsAreLoggedAtDebugNotAsSecurityWarnings()
    {
        var before = ClusterFixture.Logs.Entries.Count;
        ClusterFixture.AsSuperAdmin();

        var report = await fixture.Grains.GetGrain<IIsolationProbeGrain>("isolation").RunAsync();
        RequestContext.Clear();
        var logged = ClusterFixture.Logs.Entries.Skip(before).Where(e => e.Category == typeof(TenantIsolationFilter).FullName).ToList();

        report.Checks.Where(c => c.Layer == "grain").Should().OnlyContain(c => c.Passed && c.Detail == "refused by the grain-call filter");
        logged.Should().Contain(e => e.EventId == TenantIsolationFilter.IsolationProbeRefusedEvent && e.Level == LogLevel.Debug &&
                                     e.Message.Contains("Isolation probe", StringComparison.Ordinal));
        logged.Should().NotContain(e => e.Level >= LogLevel.Warning &&
                                        (e.Message.Contains(IsolationProbeGrain.ProbeTenantA.ToString(), StringComparison.Ordinal) ||
                                         e.Message.Contains(IsolationProbeGrain.ProbeTenantB.ToString(), StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ARealCrossTenantCallIsASecurityWarningWithItsOwnEventId()
    {
        var a = await fixture.ProvisionAsync();
        var b = await fixture.ProvisionAsync();
        ClusterFixture.As(a.Tenant.Id, a.AdminId);

        var read = () => fixture.Grains.GetGrain<IUserGrain>(GrainKeys.User(b.Tenant.Id, b.AdminId)).GetAsync();

        await read.Should().ThrowAsync<TenantAccessDeniedException>();
        RequestContext.Clear();
        ClusterFixture.Logs.Entries.Should().Contain(e => e.EventId == TenantIsolationFilter.CrossTenantRefusedEvent && e.Level == LogLevel.Warning &&
                                                          e.Message.Contains(a.Tenant.Id.ToString(), StringComparison.Ordinal) &&
                                                          e.Message.Contains("Security: cross-tenant grain call refused", StringComparison.Ordinal));
    }
}
