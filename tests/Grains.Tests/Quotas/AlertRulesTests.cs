using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Quotas;

namespace Shohayota.Grains.Tests.Quotas;

/// <summary>The tenant alert rules on their own: no silo, no database, no clock but the one passed in.</summary>
public sealed class AlertRulesTests
{
    private static readonly Guid Tenant = Guid.Parse("0f0f0f0f-0000-4000-8000-000000000001");
    private static readonly DateOnly Month = new(2026, 12, 1);
    private static readonly DateTimeOffset Now = new(2026, 12, 11, 0, 0, 0, TimeSpan.Zero);

    private static AlertRules Rules() => new(Tenant, new MeteringOptions()) { TenantName = "Acme" };

    private static AlertInputs Customers(long used, long limit, DateTimeOffset? now = null, long requests = 0, long serverErrors = 0, double? p95 = null) =>
        new(now ?? Now, Month, [new QuotaLevel(QuotaNames.Customers, used, limit)], requests, serverErrors, p95);

    [Fact]
    public void AQuotaOpensAtTheWarningLevelRisesToCriticalAndClearsBelowIt()
    {
        var rules = Rules();
        rules.Evaluate(Customers(79, 100)).Should().BeEmpty("79 % is under the 80 % warning");

        var opened = rules.Evaluate(Customers(80, 100)).Should().ContainSingle().Subject;
        opened.Change.Should().Be(AlertChange.Opened);
        opened.Alert.Should().Match<Alert>(a => a.Metric == QuotaNames.Customers && a.Level == "warning" && a.Value == 80 && a.Threshold == 80 &&
            a.TenantId == Tenant && a.TenantName == "Acme" && a.Since == Now);

        rules.Evaluate(Customers(80, 100)).Should().BeEmpty("nothing changed");
        var critical = rules.Evaluate(Customers(96, 100)).Should().ContainSingle().Subject;
        critical.Change.Should().Be(AlertChange.Updated);
        critical.Alert.Should().Match<Alert>(a => a.Level == "critical" && a.Threshold == 95 && a.Id == opened.Alert.Id && a.Since == Now);
        rules.Open.Should().ContainSingle().Which.Level.Should().Be("critical");

        var cleared = rules.Evaluate(Customers(50, 100)).Should().ContainSingle().Subject;
        cleared.Change.Should().Be(AlertChange.Cleared);
        cleared.Alert.Message.Should().Be("Cleared: Customers back to 50%.");
        rules.Open.Should().BeEmpty();
    }

    [Fact]
    public void AZeroLimitAlertsOnlyOnceSomethingIsUsed()
    {
        var rules = Rules();
        rules.Evaluate(Customers(0, 0)).Should().BeEmpty();
        rules.Evaluate(Customers(1, 0)).Should().ContainSingle().Which.Alert.Level.Should().Be("critical");
    }

    [Fact]
    public void MonthlyCallsProjectWhenTheQuotaRunsOutAtThisMonthsPace()
    {
        // 10 days into the month, 85 of 100 used: 8.5 a day, 15 left, so it runs out about 1.76 days from now.
        var inputs = new AlertInputs(Now, Month, [new QuotaLevel(QuotaNames.ApiCallsMonthly, 85, 100)], 0, 0, null);
        var alert = Rules().Evaluate(inputs).Should().ContainSingle().Subject.Alert;
        alert.ProjectedExhaustion.Should().BeCloseTo(Now.AddDays(15 / 8.5), TimeSpan.FromSeconds(1));
        alert.Message.Should().Be("Monthly API calls is 85% (≥ 80%, warning); at the current pace the quota runs out on 2026-12-12.");

        AlertRules.Projection(1, 1_000_000_000, Month, Now).Should().BeNull("more than a year away says nothing useful");
        AlertRules.Projection(100, 100, Month, Now).Should().Be(Now, "an exhausted quota ran out now");
    }

    [Fact]
    public void RateAlertsWaitForEnoughRequestsThenFollowErrorShareAndLatency()
    {
        var rules = Rules();
        rules.Evaluate(Customers(0, 100, requests: 99, serverErrors: 99, p95: 5000)).Should().BeEmpty("under the minimum sample of 100 requests");

        var changes = rules.Evaluate(Customers(0, 100, requests: 200, serverErrors: 4, p95: 600));
        changes.Select(c => (c.Alert.Metric, c.Alert.Level, c.Change)).Should().BeEquivalentTo(
            [("errorRate", "warning", AlertChange.Opened), ("latencyP95", "warning", AlertChange.Opened)]);

        changes = rules.Evaluate(Customers(0, 100, requests: 200, serverErrors: 10, p95: 2500));
        changes.Select(c => (c.Alert.Metric, c.Alert.Level, c.Change)).Should().BeEquivalentTo(
            [("errorRate", "critical", AlertChange.Updated), ("latencyP95", "critical", AlertChange.Updated)]);

        // No traffic in the window: the rate alerts have no value any more, so they clear.
        rules.Evaluate(Customers(0, 100)).Select(c => c.Change).Should().Equal(AlertChange.Cleared, AlertChange.Cleared);
    }

    [Fact]
    public void AnAlertRestoredFromTheDatabaseIsUpdatedNotOpenedAgain()
    {
        var rules = Rules();
        var stored = new Alert(Guid.NewGuid(), Tenant, "Acme", QuotaNames.Customers, "warning", 85, 80, Now.AddDays(-1), "old", null);
        rules.Restore(stored);
        rules.Evaluate(Customers(85, 100)).Should().BeEmpty();
        var change = rules.Evaluate(Customers(97, 100)).Should().ContainSingle().Subject;
        change.Change.Should().Be(AlertChange.Updated);
        change.Alert.Id.Should().Be(stored.Id);
        change.Alert.Since.Should().Be(stored.Since);
    }
}
