using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Web.Tests.Tenant;

public sealed class UsageBarsTests : UiTestContext
{
    [Fact]
    public void EachQuotaShowsUsedOfLimit()
    {
        var bars = Render<UsageBars>(p => p.Add(b => b.Report, Report()));

        Text(bars, QuotaNames.Users).Should().Be("9 / 10");
        Text(bars, QuotaNames.Customers).Should().Be("120 / 500");
        Text(bars, QuotaNames.ApiCallsMonthly).Should().Be("48,000 / 50,000");
        Text(bars, QuotaNames.StorageBytes).Should().Be("5 MiB / 50 MiB");
    }

    [Fact]
    public void TheBarsFillToTheUsedShareAndWarnNearTheLimit()
    {
        var bars = Render<UsageBars>(p => p.Add(b => b.Report, Report()));

        Bar(bars, QuotaNames.Customers).GetAttribute("aria-valuenow").Should().Be("24");
        Bar(bars, QuotaNames.Customers).ClassName.Should().Contain("mud-progress-linear-color-primary");
        Bar(bars, QuotaNames.ApiCallsMonthly).ClassName.Should().Contain("mud-progress-linear-color-error", "96 % is past the critical threshold");
        Bar(bars, QuotaNames.Users).ClassName.Should().Contain("mud-progress-linear-color-warning");
        bars.Find("[data-testid=quota-apiCallsMonthly]").TextContent.Should().Contain("Resets 2026-12-01 00:00 UTC");
    }

    [Fact]
    public void AnOverQuotaBarStaysFull()
    {
        var report = Report() with { Quotas = new Dictionary<string, QuotaUsage> { [QuotaNames.Users] = new(3, 5, 166.67, null) } };

        var bars = Render<UsageBars>(p => p.Add(b => b.Report, report));

        Text(bars, QuotaNames.Users).Should().Be("5 / 3");
        Bar(bars, QuotaNames.Users).GetAttribute("aria-valuenow").Should().Be("100");
        bars.FindAll("[data-testid^=quota-]").Where(e => e.GetAttribute("data-testid") != "quota-text").Should().ContainSingle();
    }

    private static string Text(IRenderedComponent<UsageBars> bars, string quota) =>
        bars.Find($"[data-testid=quota-{quota}] [data-testid=quota-text]").TextContent.Trim();

    private static AngleSharp.Dom.IElement Bar(IRenderedComponent<UsageBars> bars, string quota) =>
        bars.Find($"[data-testid=quota-{quota}] .mud-progress-linear");

    private static QuotaReport Report() => new("free", new Dictionary<string, QuotaUsage>
    {
        [QuotaNames.Users] = new(10, 9, 90, null),
        [QuotaNames.Customers] = new(500, 120, 24, null),
        [QuotaNames.ApiCallsMonthly] = new(50_000, 48_000, 96, new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)),
        [QuotaNames.StorageBytes] = new(50L * 1024 * 1024, 5L * 1024 * 1024, 10, null),
    }, new RateLimit(10, 20), []);
}
