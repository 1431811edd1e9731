using AngleSharp.Dom;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;

namespace Shohayota.Web.Tests.Tenant;

public sealed class CustomFieldsEditorTests : UiTestContext
{
    private static readonly CustomFieldDefinition Industry = new("industry", "Industry", CustomFieldTypes.Select, ["Banking", "Retail"], true);
    private static readonly CustomFieldDefinition Seats = new("seats", "Seats", CustomFieldTypes.Number, [], false);

    private readonly List<IReadOnlyList<CustomFieldDefinition>> _saves = [];
    private readonly Queue<UiResult<IReadOnlyList<CustomFieldDefinition>>> _answers = new();
    private readonly List<IReadOnlyList<CustomFieldDefinition>> _saved = [];

    [Fact]
    public void EachFieldIsARowInOrderAndASavedFieldsKeyIsFixed()
    {
        var editor = RenderEditor([Industry, Seats]);

        Values(editor, "Key").Should().Equal("industry", "seats");
        Values(editor, "Label").Should().Equal("Industry", "Seats");
        Values(editor, "Options").Should().Equal("Banking, Retail", "");
        RowField(editor, 0, "Key").HasAttribute("readonly").Should().BeTrue("records hold values under a saved key");
        RowField(editor, 1, "Options").HasAttribute("disabled").Should().BeTrue("only a select field has options");
        RowCheckbox(editor, 0).HasAttribute("checked").Should().BeTrue();
        Button(editor, "Move Industry up").HasAttribute("disabled").Should().BeTrue();
        Button(editor, "Move Seats down").HasAttribute("disabled").Should().BeTrue();
    }

    [Fact]
    public void WithoutFieldsTheEditorSaysSo()
    {
        var editor = RenderEditor([]);

        editor.Find("[data-testid=no-custom-fields]").TextContent.Should().Be("No custom fields for customers yet.");
    }

    [Fact]
    public async Task ANewFieldsKeyFollowsItsLabelUntilAKeyIsTyped()
    {
        var editor = RenderEditor([]);
        await ClickAsync(editor, "Add field");

        RowField(editor, 0, "Label").Input("Annual revenue (EUR)");

        RowField(editor, 0, "Key").GetAttribute("value").Should().Be("annual_revenue_eur");
        RowField(editor, 0, "Key").Change("revenue");
        RowField(editor, 0, "Label").Input("Revenue");
        RowField(editor, 0, "Key").GetAttribute("value").Should().Be("revenue");
    }

    [Fact]
    public async Task TheRulesAreShownNextToEachFieldAndNothingIsSaved()
    {
        var editor = RenderEditor([Industry, Seats]);
        await ClickAsync(editor, "Add field");
        RowField(editor, 2, "Key").Change("2nd");
        RowField(editor, 2, "Label").Input("industry");
        await ClickAsync(editor, "Add field");
        RowField(editor, 3, "Key").Change("seats");
        RowField(editor, 3, "Label").Input("Size");
        await editor.InvokeAsync(() => TypeSelect(editor, 3).Instance.SelectOption(CustomFieldTypes.Select));

        await ClickAsync(editor, "Save custom fields");

        RowMessage(editor, 2, "Key").Should().Be("A key starts with a lower-case letter and has up to 40 lower-case letters, digits and underscores.");
        RowMessage(editor, 2, "Label").Should().Be("Two custom fields cannot have the label \"industry\".");
        RowMessage(editor, 3, "Key").Should().Be("The key \"seats\" is given twice.");
        RowMessage(editor, 3, "Options").Should().StartWith("A select field has 1 to 50 different options");
        RowMessage(editor, 0, "Key").Should().BeEmpty();
        RowMessage(editor, 1, "Label").Should().BeEmpty();
        _saves.Should().BeEmpty();
    }

    [Fact]
    public async Task ASelectNeedsOptionsAndTheyAreSentTrimmedAndInOrder()
    {
        var editor = RenderEditor([]);
        await ClickAsync(editor, "Add field");
        RowField(editor, 0, "Label").Input("Tier");
        await editor.InvokeAsync(() => TypeSelect(editor, 0).Instance.SelectOption(CustomFieldTypes.Select));
        RowField(editor, 0, "Options").Change(" , ");

        await ClickAsync(editor, "Save custom fields");

        RowMessage(editor, 0, "Options").Should().StartWith("A select field has 1 to 50 different options");
        _saves.Should().BeEmpty();
        RowField(editor, 0, "Options").Change(" Gold,Silver , Bronze ");
        _answers.Enqueue(Ok([]));

        await ClickAsync(editor, "Save custom fields");

        _saves.Single().Single().Should().BeEquivalentTo(new CustomFieldDefinition("tier", "Tier", CustomFieldTypes.Select, ["Gold", "Silver", "Bronze"], false));
    }

    [Fact]
    public async Task AReorderedAndExtendedListIsSavedWholeInItsNewOrder()
    {
        var editor = RenderEditor([Industry, Seats]);
        await ClickAsync(editor, "Move Seats up");
        await editor.InvokeAsync(() => RowCheckbox(editor, 0).Change(true));
        await ClickAsync(editor, "Add field");
        RowField(editor, 2, "Label").Input("Renewal");
        await editor.InvokeAsync(() => TypeSelect(editor, 2).Instance.SelectOption(CustomFieldTypes.Date));
        var saved = new List<CustomFieldDefinition> { Seats with { Required = true }, Industry, new("renewal", "Renewal", CustomFieldTypes.Date, [], false) };
        _answers.Enqueue(Ok(saved));

        await ClickAsync(editor, "Save custom fields");

        var sent = _saves.Single();
        sent.Select(d => d.Key).Should().Equal("seats", "industry", "renewal");
        sent[0].Should().BeEquivalentTo(Seats with { Required = true });
        sent[1].Should().BeEquivalentTo(Industry);
        sent[2].Should().BeEquivalentTo(new CustomFieldDefinition("renewal", "Renewal", CustomFieldTypes.Date, [], false));
        _saved.Single().Should().BeSameAs(saved);
        Snackbars.Should().ContainSingle().Which.Should().Be("Custom fields of customers saved.");
    }

    [Fact]
    public async Task ARemovalRefusedBecauseValuesAreInUseIsShownAsTheGrainWordsIt()
    {
        var editor = RenderEditor([Industry, Seats]);
        await ClickAsync(editor, "Remove Industry");
        editor.Find("[data-testid=custom-fields-removed]").TextContent.Should().Contain("Industry");
        const string refusal = "3 customers hold values of 'industry'; clear them first.";
        _answers.Enqueue(UiResult<IReadOnlyList<CustomFieldDefinition>>.Fail(Failure.Conflict, refusal));

        await ClickAsync(editor, "Save custom fields");

        _saves.Single().Select(d => d.Key).Should().Equal("seats");
        editor.Find("[data-testid=custom-fields-error]").TextContent.Should().Be(refusal);
        Snackbars.Should().ContainSingle().Which.Should().Be(refusal);
        _saved.Should().BeEmpty();
    }

    [Fact]
    public async Task AMembersRefusalIsShownAndUndoBringsBackTheFieldsAsRead()
    {
        var editor = RenderEditor([Industry, Seats]);
        await ClickAsync(editor, "Remove Seats");
        _answers.Enqueue(UiResult<IReadOnlyList<CustomFieldDefinition>>.Fail(Failure.Forbidden, "Only the tenant's admins change custom fields."));

        await ClickAsync(editor, "Save custom fields");

        editor.Find("[data-testid=custom-fields-error]").TextContent.Should().Be("You may not do this.");
        await ClickAsync(editor, "Undo changes");
        Values(editor, "Key").Should().Equal("industry", "seats");
        editor.FindAll("[data-testid=custom-fields-error]").Should().BeEmpty();
    }

    private IRenderedComponent<CustomFieldsEditor> RenderEditor(IReadOnlyList<CustomFieldDefinition> definitions)
    {
        Render<MudPopoverProvider>();
        return Render<CustomFieldsEditor>(p => p
            .Add(e => e.RecordType, CustomFieldRecordTypes.Customers)
            .Add(e => e.Definitions, definitions)
            .Add(e => e.Save, list =>
            {
                _saves.Add(list);
                return Task.FromResult(_answers.Dequeue());
            })
            .Add(e => e.Saved, list => _saved.Add(list)));
    }

    private static UiResult<IReadOnlyList<CustomFieldDefinition>> Ok(IReadOnlyList<CustomFieldDefinition> list) =>
        UiResult<IReadOnlyList<CustomFieldDefinition>>.Success(list);

    private IEnumerable<string> Snackbars => Services.GetRequiredService<ISnackbar>().ShownSnackbars.Select(s => s.Message ?? "");

    private static List<string> Values(IRenderedComponent<CustomFieldsEditor> editor, string label) =>
        editor.FindAll("[data-testid=custom-field-row]").Select(r => Control(r, label).QuerySelector("input")!.GetAttribute("value") ?? "").ToList();

    private static IRenderedComponent<MudSelect<string>> TypeSelect(IRenderedComponent<CustomFieldsEditor> editor, int row) =>
        editor.FindComponents<MudSelect<string>>().Where(s => s.Instance.Label == "Type").ElementAt(row);

    private static IElement Control(IElement row, string label) =>
        row.QuerySelectorAll(".mud-input-control").Single(c => c.QuerySelector("label")?.TextContent.Trim() == label);

    private static IElement RowField(IRenderedComponent<CustomFieldsEditor> editor, int row, string label) =>
        Control(editor.FindAll("[data-testid=custom-field-row]")[row], label).QuerySelector("input")!;

    private static IElement RowCheckbox(IRenderedComponent<CustomFieldsEditor> editor, int row) =>
        editor.FindAll("[data-testid=custom-field-row]")[row].QuerySelector("input[type=checkbox]")!;

    private static string RowMessage(IRenderedComponent<CustomFieldsEditor> editor, int row, string label) =>
        Control(editor.FindAll("[data-testid=custom-field-row]")[row], label).QuerySelector(".mud-input-helper-text")?.TextContent.Trim() ?? "";

    private static IElement Button(IRenderedComponent<CustomFieldsEditor> editor, string name) =>
        editor.FindAll("button").Single(b => b.GetAttribute("aria-label") == name || b.TextContent.Trim() == name);

    private static Task ClickAsync(IRenderedComponent<CustomFieldsEditor> editor, string name) =>
        editor.InvokeAsync(() => Button(editor, name).ClickAsync(new MouseEventArgs()));
}
