using Shohayota.Api.Audit;
using Shohayota.Api.Web.Components.Pages.Admin;

namespace Shohayota.Web.Tests.Admin;

public sealed class IncidentFormTests : UiTestContext
{
    private readonly List<AuditApi.IncidentBody> _recorded = [];

    [Fact]
    public void AnIncidentWithoutTitleOrSeverityIsNotRecorded()
    {
        var form = Render<IncidentForm>(p => p.Add(f => f.Submit, Record));

        ProvisionFormTests.Button(form, "Record incident").Click();

        _recorded.Should().BeEmpty();
        form.Markup.Should().Contain("A title is required.").And.Contain("Severity must be one of: low, medium, high, critical.");
    }

    [Fact]
    public async Task AValidIncidentIsRecordedAndTheFormClears()
    {
        var form = Render<IncidentForm>(p => p.Add(f => f.Submit, Record));
        Field(form, "Title").Change("Database failover");
        form.FindAll("textarea").Single().Change("Primary lost; replica promoted.");
        var severity = form.FindComponents<MudBlazor.MudSelect<string>>().Single().Instance;
        await form.InvokeAsync(() => severity.SelectOption("high"));

        ProvisionFormTests.Button(form, "Record incident").Click();

        _recorded.Should().Equal(new AuditApi.IncidentBody("Database failover", "Primary lost; replica promoted.", "high"));
        form.WaitForAssertion(() => Field(form, "Title").GetAttribute("value").Should().BeNullOrEmpty());
    }

    private Task<bool> Record(AuditApi.IncidentBody body)
    {
        _recorded.Add(body);
        return Task.FromResult(true);
    }

    private static AngleSharp.Dom.IElement Field(IRenderedComponent<IncidentForm> form, string label) =>
        form.FindAll(".mud-input-control").Single(c => c.QuerySelector("label")?.TextContent.Trim() == label).QuerySelector("input")!;
}
