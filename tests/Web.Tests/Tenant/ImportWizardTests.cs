using System.Text;
using AngleSharp.Dom;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using Shohayota.Api.Records;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Records;

namespace Shohayota.Web.Tests.Tenant;

public sealed class ImportWizardTests : UiTestContext
{
    private const string Csv = "name,email,company,shoeSize\nAda,ada@engines.test,Engines,38\n";
    private readonly List<ImportWizard.Attempt> _sent = [];
    private readonly Queue<UiResult<ImportsApi.ImportRun>> _answers = new();

    [Fact]
    public void NothingIsCheckedBeforeAFileIsChosen()
    {
        var wizard = RenderWizard();

        Button(wizard, "Check file").HasAttribute("disabled").Should().BeTrue();
        wizard.Find("[data-testid=import-file-name]").TextContent.Should().Contain("No file chosen").And.Contain("10 MiB");
        wizard.Find("input[type=file]").GetAttribute("aria-label").Should().Be("CSV file");
        wizard.Find("input[type=file]").GetAttribute("accept").Should().Be(".csv,text/csv");
        wizard.FindAll("[data-testid=import-step-check]").Should().BeEmpty();
    }

    [Fact]
    public void ADryRunWithErrorsListsThemByRowAndOffersNoImport()
    {
        _answers.Enqueue(Checked(Result(rows: 4, created: 2, errors: [new(3, "email", "This is not a valid e-mail address."), new(5, "name", "A name is required.")])));
        var wizard = RenderWizard();
        Choose(wizard, Csv);

        Click(wizard, "Check file");

        _sent.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Records = "customers", DryRun = true, OnDuplicate = "error" });
        Encoding.UTF8.GetString(_sent[0].Body).Should().Be(Csv);
        wizard.FindAll("[data-testid=import-column]").Select(Cells).Should().Equal("name | Name", "email | Email", "company | Company");
        wizard.Find("[data-testid=import-ignored-column]").TextContent.Should().Contain("shoeSize").And.Contain("not imported");
        wizard.Find("[data-testid=import-rows]").TextContent.Should().Be("4");
        wizard.Find("[data-testid=import-would-create]").TextContent.Should().Be("2");
        wizard.Find("[data-testid=import-error-count]").TextContent.Should().Be("2");
        wizard.Find("[data-testid=import-check-errors]").TextContent.Should().Contain("2 errors").And.Contain("nothing can be imported");
        wizard.Find("[data-testid=import-errors] table > caption").TextContent.Should().StartWith("Errors by row");
        wizard.FindAll("[data-testid=import-error]").Select(Cells).Should().Equal(
            "3 | email | This is not a valid e-mail address.", "5 | name | A name is required.");
        wizard.FindAll("[data-testid=import-errors-shown]").Should().BeEmpty();
        wizard.FindAll("[data-testid=import-run]").Should().BeEmpty();
    }

    [Fact]
    public void MoreErrorsThanListedSayHowManyThereAre()
    {
        var listed = Enumerable.Range(2, ImportLimits.ReportedErrors).Select(row => new ImportError(row, "name", "A name is required.")).ToList();
        _answers.Enqueue(Checked(Result(rows: 300, errors: listed, errorCount: 250)));
        var wizard = RenderWizard();
        Choose(wizard, Csv);

        Click(wizard, "Check file");

        wizard.FindAll("[data-testid=import-error]").Should().HaveCount(100);
        wizard.Find("[data-testid=import-errors-shown]").TextContent.Should().Contain("The first 100 of 250 errors");
        wizard.FindAll("[data-testid=import-run]").Should().BeEmpty();
    }

    [Fact]
    public void ACleanFileImportsExactlyWhatWasChecked()
    {
        var id = Guid.NewGuid();
        _answers.Enqueue(Checked(Result(rows: 4, created: 3, updated: 1)));
        _answers.Enqueue(Checked(Result(rows: 4, created: 3, updated: 1, dryRun: false, id: id)));
        var wizard = RenderWizard();
        Choose(wizard, Csv);
        Click(wizard, "Check file");
        wizard.Find("[data-testid=import-check-ok]").TextContent.Should().Contain("No errors");

        Click(wizard, "Import 4 rows");

        _sent.Should().HaveCount(2);
        _sent[1].Should().BeEquivalentTo(_sent[0] with { DryRun = false });
        _sent[1].Body.Should().BeSameAs(_sent[0].Body);
        wizard.Find("[data-testid=import-result]").TextContent.Should().Contain("Imported: 3 created, 1 updated, 0 skipped.");
        wizard.Find("[data-testid=import-id]").TextContent.Should().Be(id.ToString("D"));
        wizard.Find("[data-testid=import-open-records]").GetAttribute("href").Should().Be("/customers");
        wizard.FindAll("[data-testid=import-run]").Should().BeEmpty("an import runs once; another needs another check");
        Snackbars.Should().Contain("Imported 4 customers.");
    }

    [Fact]
    public void AQuotaRefusalIsShownWithItsDetailAndNothingImported()
    {
        const string detail = "The import would exceed the customers quota by 1 (2 of 2 used, the import adds 1). Nothing was imported.";
        _answers.Enqueue(Checked(Result(rows: 1, created: 1)));
        _answers.Enqueue(Succeeded(new ImportsApi.ImportRun(null, Outcome<ImportResult>.Fail(Failure.QuotaExceeded, detail), ["name"], [])));
        var wizard = RenderWizard();
        Choose(wizard, Csv);
        Click(wizard, "Check file");

        Click(wizard, "Import 1 row");

        wizard.Find("[data-testid=import-failure]").TextContent.Trim().Should().Be(detail);
        wizard.FindAll("[data-testid=import-result]").Should().BeEmpty();
    }

    [Fact]
    public void ARefusalWithoutDetailStillSaysNothingWasImported()
    {
        _answers.Enqueue(Checked(Result(rows: 1, created: 1)));
        _answers.Enqueue(UiResult<ImportsApi.ImportRun>.Fail(Failure.RateLimited, null));
        var wizard = RenderWizard();
        Choose(wizard, Csv);
        Click(wizard, "Check file");

        Click(wizard, "Import 1 row");

        wizard.Find("[data-testid=import-failure]").TextContent.Should().Contain("Too many requests").And.Contain("Nothing was imported.");
    }

    [Fact]
    public void AFileTheImportRefusesWholeShowsWhy()
    {
        _answers.Enqueue(Succeeded(new ImportsApi.ImportRun("The file is not UTF-8 text; save it as CSV UTF-8.", null, [], [])));
        var wizard = RenderWizard();
        Choose(wizard, Csv);

        Click(wizard, "Check file");

        wizard.Find("[data-testid=import-check-failure]").TextContent.Should().Be("The file cannot be imported: The file is not UTF-8 text; save it as CSV UTF-8.");
        wizard.FindAll("[data-testid=import-run]").Should().BeEmpty();
    }

    [Fact]
    public void AFileOverTenMebibytesIsRefusedBeforeItIsSent()
    {
        var wizard = RenderWizard();

        wizard.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(new byte[ImportLimits.MaxBytes + 1], "big.csv"));

        wizard.WaitForAssertion(() => wizard.Find("[data-testid=import-file-error]").TextContent.Should().Contain("up to 10 MiB"));
        Button(wizard, "Check file").HasAttribute("disabled").Should().BeTrue();
        _sent.Should().BeEmpty();
    }

    [Fact]
    public void ChoosingAnotherFileClearsTheCheck()
    {
        _answers.Enqueue(Checked(Result(rows: 1, created: 1)));
        var wizard = RenderWizard();
        Choose(wizard, Csv);
        Click(wizard, "Check file");
        wizard.FindAll("[data-testid=import-run]").Should().HaveCount(1);

        Choose(wizard, "name\nBabbage\n", "fixed.csv");

        wizard.FindAll("[data-testid=import-step-check]").Should().BeEmpty("the new file has not been checked");
        wizard.FindAll("[data-testid=import-run]").Should().BeEmpty();
    }

    private IRenderedComponent<ImportWizard> RenderWizard()
    {
        Render<MudPopoverProvider>();
        return Render<ImportWizard>(p => p.Add(w => w.Run, attempt =>
        {
            _sent.Add(attempt);
            return Task.FromResult(_answers.Dequeue());
        }));
    }

    private static void Choose(IRenderedComponent<ImportWizard> wizard, string text, string name = "customers.csv")
    {
        wizard.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(text, name));
        wizard.WaitForAssertion(() => wizard.Find("[data-testid=import-file-name]").TextContent.Should().Contain(name));
    }

    private IEnumerable<string> Snackbars => Services.GetRequiredService<ISnackbar>().ShownSnackbars.Select(s => s.Message ?? "");

    private static IElement Button(IRenderedComponent<ImportWizard> wizard, string text) =>
        wizard.FindAll("button").Single(b => b.TextContent.Trim() == text);

    /// <summary>Clicks the button and waits until the wizard has shown what the click led to (MudBlazor's click handler yields).</summary>
    private void Click(IRenderedComponent<ImportWizard> wizard, string text)
    {
        var sent = _sent.Count;
        wizard.WaitForAssertion(() => Button(wizard, text).HasAttribute("disabled").Should().BeFalse());
        Button(wizard, text).Click();
        wizard.WaitForAssertion(() =>
        {
            _sent.Should().HaveCount(sent + 1);
            wizard.FindAll(".mud-progress-linear").Should().BeEmpty();
            wizard.FindAll(text == "Check file" ? "[data-testid=import-step-check]" : "[data-testid=import-step-import]").Should().NotBeEmpty();
        });
    }

    private static string Cells(IElement row) => string.Join(" | ", row.QuerySelectorAll("td").Select(td => td.TextContent.Trim()));

    private static ImportResult Result(int rows, int created = 0, int updated = 0, IReadOnlyList<ImportError>? errors = null, int? errorCount = null,
        bool dryRun = true, Guid? id = null) =>
        new(id, "customers", dryRun, rows, created, updated, 0, errorCount ?? errors?.Count ?? 0, errors ?? [], dryRun ? null : DateTimeOffset.UnixEpoch);

    private static UiResult<ImportsApi.ImportRun> Checked(ImportResult result) =>
        Succeeded(new ImportsApi.ImportRun(null, Outcome<ImportResult>.Ok(result), ["name", "email", "company"], ["shoeSize"]));

    private static UiResult<ImportsApi.ImportRun> Succeeded(ImportsApi.ImportRun run) => UiResult<ImportsApi.ImportRun>.Success(run);
}
