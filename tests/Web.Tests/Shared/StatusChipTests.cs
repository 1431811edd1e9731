using Shohayota.Api.Web.Components.Pages.Admin;
using Shohayota.Api.Web.Components.Shared;

namespace Shohayota.Web.Tests.Shared;

public sealed class StatusChipTests : UiTestContext
{
    [Theory]
    [InlineData("active", "mud-chip-color-success")]
    [InlineData("suspended", "mud-chip-color-warning")]
    [InlineData("canceled", "mud-chip-color-default")]
    [InlineData("deleted", "mud-chip-color-error")]
    [InlineData("disabled", "mud-chip-color-default")]
    public void EveryStatusHasItsOneColour(string status, string colourClass)
    {
        var chip = Render<StatusChip>(p => p.Add(c => c.Status, status));

        var element = chip.Find($"[data-status={status}]");
        element.ClassList.Should().Contain(colourClass);
        element.TextContent.Trim().Should().Be(status);
    }

    [Theory]
    [InlineData(0, 25, "0 %", "ok")]
    [InlineData(1, 1000, "<1 %", "ok")]
    [InlineData(20, 25, "80 %", "warning")]
    [InlineData(30, 25, "120 %", "critical")]
    public void AUsageCellShowsThePercentageAndTheFiguresOnHover(long used, long limit, string percent, string level)
    {
        var cell = Render<UsageCell>(p => p.Add(c => c.Label, "Customers").Add(c => c.Used, used).Add(c => c.Limit, limit));

        var element = cell.Find("[data-testid=usage-cell]");
        element.GetAttribute("data-level").Should().Be(level);
        element.TextContent.Should().Contain(percent);
        element.GetAttribute("title").Should().Be($"Customers: {used:N0} of {limit:N0}");
    }
}
