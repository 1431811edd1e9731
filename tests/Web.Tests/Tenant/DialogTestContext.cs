using AngleSharp.Dom;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace Shohayota.Web.Tests.Tenant;

/// <summary>Opens a dialog the way a page does (through the dialog service and provider) and drives its fields by their labels.</summary>
public abstract class DialogTestContext : UiTestContext
{
    private IRenderedComponent<MudDialogProvider>? _provider;
    private IRenderedComponent<MudPopoverProvider>? _popovers;

    protected IRenderedComponent<MudDialogProvider> Provider => _provider ?? throw new InvalidOperationException("Open a dialog first.");

    /// <summary>Where menus and pickers open their lists (outside the dialog, as in the page).</summary>
    protected IRenderedComponent<MudPopoverProvider> Popovers => _popovers ?? throw new InvalidOperationException("Open a dialog first.");

    protected IEnumerable<string> Snackbars => Services.GetRequiredService<ISnackbar>().ShownSnackbars.Select(s => s.Message ?? "");

    protected async Task<IDialogReference> OpenAsync<TDialog>(DialogParameters<TDialog> parameters)
        where TDialog : IComponent
    {
        _popovers = Render<MudPopoverProvider>();
        _provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        IDialogReference? reference = null;
        await _provider.InvokeAsync(async () => reference = await dialogs.ShowAsync<TDialog>("Dialog", parameters));
        return reference!;
    }

    /// <summary>The input a label names (what a screen reader and Playwright's GetByLabel find).</summary>
    protected IElement Field(string label)
    {
        var element = Provider.FindAll("label").First(l => l.TextContent.Trim().TrimEnd('*').Trim() == label);
        return Provider.Find($"#{element.GetAttribute("for")}");
    }

    /// <summary>The helper or error text under the field a label names.</summary>
    protected string FieldMessage(string label)
    {
        var control = Field(label).Closest(".mud-input-control")!;
        return control.QuerySelector(".mud-input-helper-text")?.TextContent.Trim() ?? "";
    }

    protected void Type(string label, string value) => Field(label).Change(value);

    protected Task ClickAsync(string button) =>
        Provider.InvokeAsync(() => Provider.FindAll("button").First(b => b.TextContent.Trim() == button).ClickAsync(new MouseEventArgs()));
}
