using AngleSharp.Dom;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Web.Tests.Tenant;

public sealed class PipelineStagesEditorTests : UiTestContext
{
    private static readonly StageSummary Lead = Stage("Lead", DealStatuses.Open, 10, 0);
    private static readonly StageSummary Proposal = Stage("Proposal", DealStatuses.Open, 50, 2);
    private static readonly StageSummary Won = Stage("Won", DealStatuses.Won, 100, 1);
    private static readonly StageSummary Lost = Stage("Lost", DealStatuses.Lost, 0, 0);

    private readonly List<(IReadOnlyList<PipelineStageInput> Stages, Guid? MoveTo)> _saves = [];
    private readonly Queue<UiResult<PipelineChange>> _answers = new();
    private readonly List<PipelineChange> _saved = [];

    [Fact]
    public void EachStageIsARowInOrderWithItsDealsAndAStageThatHoldsDealsKeepsItsKind()
    {
        var editor = RenderEditor();

        Names(editor).Should().Equal("Lead", "Proposal", "Won", "Lost");
        editor.FindAll("[data-testid=stage-deals]").Select(c => c.TextContent).Should().Equal("0", "2", "1", "0");
        KindSelect(editor, 1).Instance.Disabled.Should().BeTrue("the grain refuses to change the kind of a stage that holds deals");
        KindSelect(editor, 0).Instance.Disabled.Should().BeFalse();
        Button(editor, "Move Lead up").HasAttribute("disabled").Should().BeTrue();
        Button(editor, "Move Lost down").HasAttribute("disabled").Should().BeTrue();
    }

    [Fact]
    public async Task ARenamedReorderedAndExtendedPipelineIsSavedAsTheWholeOrderedList()
    {
        var editor = RenderEditor();
        RowField(editor, 0, "Stage name").Change("Prospect");
        await ClickAsync(editor, "Move Proposal up");
        await ClickAsync(editor, "Add stage");
        RowField(editor, 2, "Stage name").Change("Negotiation");
        RowField(editor, 2, "Probability (%)").Change("75");
        _answers.Enqueue(Saved(0));

        await ClickAsync(editor, "Save stages");

        var (stages, moveTo) = _saves.Single();
        moveTo.Should().BeNull();
        stages.Should().Equal(
            new PipelineStageInput(Proposal.Stage.Id, "Proposal", DealStatuses.Open, 50),
            new PipelineStageInput(Lead.Stage.Id, "Prospect", DealStatuses.Open, 10),
            new PipelineStageInput(null, "Negotiation", DealStatuses.Open, 75),
            new PipelineStageInput(Won.Stage.Id, "Won", DealStatuses.Won, 100),
            new PipelineStageInput(Lost.Stage.Id, "Lost", DealStatuses.Lost, 0));
        _saved.Should().ContainSingle();
        Snackbars.Should().ContainSingle().Which.Should().Be("Pipeline saved.");
    }

    [Fact]
    public async Task ANewStageOfLeadsKindCanBeWonAndItsKindIsSent()
    {
        var editor = RenderEditor();
        await ClickAsync(editor, "Add stage");
        RowField(editor, 2, "Stage name").Change("Signed");
        await editor.InvokeAsync(() => KindSelect(editor, 2).Instance.SelectOption(DealStatuses.Won));
        _answers.Enqueue(Saved(0));

        await ClickAsync(editor, "Save stages");

        _saves.Single().Stages[2].Should().Be(new PipelineStageInput(null, "Signed", DealStatuses.Won, 50));
    }

    [Fact]
    public async Task TwoStagesOfOneNameOrAnEmptyNameOrABadProbabilityAreRefusedNextToTheirRowsAndNothingIsSaved()
    {
        var editor = RenderEditor();
        RowField(editor, 1, "Stage name").Change("lead");
        RowField(editor, 2, "Stage name").Change("  ");
        RowField(editor, 3, "Probability (%)").Change("101");

        await ClickAsync(editor, "Save stages");

        RowMessage(editor, 1, "Stage name").Should().Be("Two stages cannot have the same name.");
        RowMessage(editor, 2, "Stage name").Should().Be("A stage's name has 1 to 100 characters.");
        RowMessage(editor, 3, "Probability (%)").Should().Be("probability is 0 to 100 (percent).");
        RowMessage(editor, 0, "Stage name").Should().BeEmpty();
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task APipelineWithoutAnOpenStageIsRefusedBeforeItIsSent()
    {
        var editor = RenderEditor();
        await ClickAsync(editor, "Remove Lead");
        await ClickAsync(editor, "Remove Proposal");

        await ClickAsync(editor, "Save stages");

        editor.Find("[data-testid=stages-error]").TextContent.Should().Contain("at least one open stage");
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task RemovingAStageThatHoldsDealsAsksWhereTheyGoAndSendsTheSameListWithThatStage()
    {
        var editor = RenderEditor();
        await ClickAsync(editor, "Remove Proposal");
        editor.Find("[data-testid=stages-removed]").TextContent.Should().Contain("Proposal (2 deals)");
        _answers.Enqueue(UiResult<PipelineChange>.Fail(Failure.Conflict, "Removed stages still hold 2 deals: 'Proposal' (2 deals). Send moveTo (a stage that stays) to move them there."));

        await ClickAsync(editor, "Save stages");

        editor.Find("[data-testid=stages-move]").TextContent.Should().Contain("Proposal still holds deals");
        _saved.Should().BeEmpty();
        var target = editor.FindComponents<MudSelect<Guid?>>().Single(s => s.Instance.Label == "Move their deals to");
        await editor.InvokeAsync(() => target.Instance.SelectOption(Lead.Stage.Id));
        _answers.Enqueue(Saved(2));

        await ClickAsync(editor, "Move deals and save");

        _saves.Should().HaveCount(2);
        _saves[0].MoveTo.Should().BeNull();
        _saves[1].MoveTo.Should().Be(Lead.Stage.Id);
        _saves[1].Stages.Should().Equal(_saves[0].Stages);
        _saves[1].Stages.Select(s => s.Id).Should().Equal(Lead.Stage.Id, Won.Stage.Id, Lost.Stage.Id);
        _saved.Should().ContainSingle();
        Snackbars.Should().Contain("Pipeline saved; 2 deals moved to Lead.");
        editor.FindAll("[data-testid=stages-move]").Should().BeEmpty();
    }

    [Fact]
    public async Task ARefusalOtherThanARemovalIsShownAsTheGrainWordsIt()
    {
        var editor = RenderEditor();
        RowField(editor, 0, "Stage name").Change("Prospect");
        _answers.Enqueue(UiResult<PipelineChange>.Fail(Failure.Forbidden, "Only the tenant's admins change the pipeline."));

        await ClickAsync(editor, "Save stages");

        editor.Find("[data-testid=stages-error]").TextContent.Should().Be("You may not do this.");
        editor.FindAll("[data-testid=stages-move]").Should().BeEmpty();
        _saved.Should().BeEmpty();
    }

    [Fact]
    public async Task UndoBringsBackTheStagesAsRead()
    {
        var editor = RenderEditor();
        await ClickAsync(editor, "Remove Won");
        RowField(editor, 0, "Stage name").Change("Prospect");

        await ClickAsync(editor, "Undo changes");

        Names(editor).Should().Equal("Lead", "Proposal", "Won", "Lost");
        editor.FindAll("[data-testid=stages-removed]").Should().BeEmpty();
    }

    private IRenderedComponent<PipelineStagesEditor> RenderEditor()
    {
        Render<MudPopoverProvider>();
        return Render<PipelineStagesEditor>(p => p
            .Add(e => e.Stages, [Lead, Proposal, Won, Lost])
            .Add(e => e.Save, (stages, moveTo) =>
            {
                _saves.Add((stages, moveTo));
                return Task.FromResult(_answers.Dequeue());
            })
            .Add(e => e.Saved, change => _saved.Add(change)));
    }

    private IEnumerable<string> Snackbars => Services.GetRequiredService<ISnackbar>().ShownSnackbars.Select(s => s.Message ?? "");

    private static UiResult<PipelineChange> Saved(int moved) => UiResult<PipelineChange>.Success(new PipelineChange([], moved));

    private static List<string> Names(IRenderedComponent<PipelineStagesEditor> editor) =>
        editor.FindAll("[data-testid=stage-row]").Select(r => Control(r, "Stage name").QuerySelector("input")!.GetAttribute("value") ?? "").ToList();

    private static IRenderedComponent<MudSelect<string>> KindSelect(IRenderedComponent<PipelineStagesEditor> editor, int row) =>
        editor.FindComponents<MudSelect<string>>().Where(s => s.Instance.Label == "Kind").ElementAt(row);

    private static IElement Control(IElement row, string label) =>
        row.QuerySelectorAll(".mud-input-control").Single(c => c.QuerySelector("label")?.TextContent.Trim() == label);

    private static IElement RowField(IRenderedComponent<PipelineStagesEditor> editor, int row, string label) =>
        Control(editor.FindAll("[data-testid=stage-row]")[row], label).QuerySelector("input")!;

    private static string RowMessage(IRenderedComponent<PipelineStagesEditor> editor, int row, string label) =>
        Control(editor.FindAll("[data-testid=stage-row]")[row], label).QuerySelector(".mud-input-helper-text")?.TextContent.Trim() ?? "";

    private static IElement Button(IRenderedComponent<PipelineStagesEditor> editor, string name) =>
        editor.FindAll("button").First(b => b.GetAttribute("aria-label") == name || b.TextContent.Trim() == name);

    private static Task ClickAsync(IRenderedComponent<PipelineStagesEditor> editor, string name) =>
        editor.InvokeAsync(() => Button(editor, name).ClickAsync(new MouseEventArgs()));

    private static StageSummary Stage(string name, string kind, int probability, int count) =>
        new(new PipelineStage(Guid.NewGuid(), name, kind, probability), count, []);
}
