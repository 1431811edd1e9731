using Shohayota.Api.Web.Components.Pages.Admin;

namespace Shohayota.Web.Tests.Admin;

public sealed class HardDeleteConfirmTests : UiTestContext
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 7, 0, 0, TimeSpan.Zero);
    private readonly List<bool> _confirmed = [];

    [Fact]
    public void DeletePermanentlyStaysDisabledUntilTheNameMatchesExactly()
    {
        var confirm = RenderConfirm(Now.AddDays(30));
        var button = () => ProvisionFormTests.Button(confirm, "Delete permanently");

        button().HasAttribute("disabled").Should().BeTrue();
        TypeName(confirm, "acme corp");
        button().HasAttribute("disabled").Should().BeTrue();
        TypeName(confirm, "Acme Corp ");
        button().HasAttribute("disabled").Should().BeTrue();
        TypeName(confirm, "Acme Corp");
        button().HasAttribute("disabled").Should().BeFalse();
    }

    [Fact]
    public void AMatchingNameConfirmsWithoutForceByDefault()
    {
        var confirm = RenderConfirm(Now.AddDays(30));
        TypeName(confirm, "Acme Corp");

        ProvisionFormTests.Button(confirm, "Delete permanently").Click();

        _confirmed.Should().Equal(false);
    }

    [Fact]
    public void ForceIsOfferedWhileTheRetentionPeriodRuns()
    {
        var confirm = RenderConfirm(Now.AddDays(30));
        TypeName(confirm, "Acme Corp");
        confirm.Find("input[type=checkbox]").Change(true);

        ProvisionFormTests.Button(confirm, "Delete permanently").Click();

        _confirmed.Should().Equal(true);
    }

    [Fact]
    public void TheRetentionDateIsShownAndForceIsNotOfferedOnceItPassed()
    {
        var confirm = RenderConfirm(Now.AddDays(-1));

        confirm.Find("[data-testid=retention]").TextContent.Should().Contain("2026-11-26 07:00 UTC");
        confirm.FindAll("input[type=checkbox]").Should().BeEmpty();
    }

    private IRenderedComponent<HardDeleteConfirm> RenderConfirm(DateTimeOffset retentionUntil) =>
        Render<HardDeleteConfirm>(p => p
            .Add(c => c.TenantName, "Acme Corp")
            .Add(c => c.Status, "canceled")
            .Add(c => c.RetentionUntil, retentionUntil)
            .Add(c => c.Now, Now)
            .Add(c => c.OnConfirm, force => _confirmed.Add(force)));

    private static void TypeName(IRenderedComponent<HardDeleteConfirm> confirm, string name) =>
        confirm.FindAll(".mud-input-control").Single(c => c.QuerySelector("label")?.TextContent.Trim() == "Tenant name")
            .QuerySelector("input")!.Input(name);
}
