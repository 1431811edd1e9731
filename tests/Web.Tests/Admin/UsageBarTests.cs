using Shohayota.Api.Web.Components.Pages.Admin;

namespace Shohayota.Web.Tests.Admin;

public sealed class UsageBarTests : UiTestContext
{
    [Theory]
    [InlineData(0, 100, "ok")]
    [InlineData(79, 100, "ok")]
    [InlineData(80, 100, "warning")]
    [InlineData(94, 100, "warning")]
    [InlineData(95, 100, "critical")]
    [InlineData(150, 100, "critical")]
    [InlineData(1, 0, "critical")]
    [InlineData(0, 0, "ok")]
    public void TheLevelFollowsTheAlertThresholds(long used, long limit, string level)
    {
        var bar = Render<UsageBar>(p => p.Add(b => b.Label, "Customers").Add(b => b.Used, used).Add(b => b.Limit, limit));

        bar.Find("[data-testid=usage-bar]").GetAttribute("data-level").Should().Be(level);
    }

    [Fact]
    public void CountsAndSizesAreWrittenForPeople()
    {
        var customers = Render<UsageBar>(p => p.Add(b => b.Label, "Customers").Add(b => b.Used, 1234).Add(b => b.Limit, 50_000));
        var storage = Render<UsageBar>(p => p.Add(b => b.Label, "Storage").Add(b => b.Used, 5L * 1024 * 1024).Add(b => b.Limit, 50L * 1024 * 1024).Add(b => b.Bytes, true));

        customers.Markup.Should().Contain("Customers: 1,234 of 50,000");
        storage.Markup.Should().Contain("Storage: 5 MiB of 50 MiB");
    }

    [Fact]
    public void TheBarNeverRunsPastFull()
    {
        var bar = Render<UsageBar>(p => p.Add(b => b.Label, "Users").Add(b => b.Used, 7).Add(b => b.Limit, 3));

        bar.Instance.Percent.Should().BeApproximately(233.33, 0.01);
        bar.Instance.Shown.Should().Be(100);
    }
}
