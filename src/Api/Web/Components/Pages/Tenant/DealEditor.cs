using MudBlazor;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Api.Web.Components.Pages.Tenant;

/// <summary>A contact as the deal dialog offers it: one of the deal's customer's contacts.</summary>
public sealed record ContactChoice(Guid Id, string Name);

/// <summary>
/// What the deal pages (the list, the board, a customer's page) share: the deal dialog with its lookups and its save
/// path, each a grain call through the page's <see cref="UiSession"/>, and a stage's name.
/// </summary>
public static class DealEditor
{
    /// <summary>How many of a customer's contacts the dialog offers (by name; a deal names at most 50).</summary>
    public const int ContactChoices = 200;

    public static readonly DialogOptions Options = new() { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true };

    /// <summary>
    /// The dialog for a new deal (<paramref name="deal"/> null: with <paramref name="customer"/> and
    /// <paramref name="stageId"/> preset when given) or for an edit, with the deals' custom fields as they are now; the saved
    /// deal, or null when canceled (or when the custom fields could not be read, said in a snackbar).
    /// </summary>
    public static async Task<DealDetails?> OpenAsync(
        IDialogService dialogs, UiSession session, ISnackbar snackbar, IReadOnlyList<PipelineStage> stages, DealDetails? deal, CustomerChoice? customer,
        Guid? stageId = null)
    {
        if (await CustomFieldForm.ForDialogAsync(session, snackbar, CustomFieldRecordTypes.Deals) is not { } custom)
        {
            return null;
        }

        var me = (await session.CallerAsync()).UserId;
        var parameters = new DialogParameters<DealDialog>
        {
            { d => d.Deal, deal },
            { d => d.Customer, customer },
            { d => d.Stages, stages },
            { d => d.StageId, stageId },
            { d => d.Me, me },
            { d => d.Save, (fields, version) => SaveAsync(session, deal?.Id, fields, version) },
            { d => d.FindCustomers, (text, _) => FindCustomersAsync(session, snackbar, text) },
            { d => d.FindContacts, customerId => ContactsOfAsync(session, customerId) },
            { d => d.CustomFields, custom },
        };
        var dialog = await dialogs.ShowAsync<DealDialog>(deal is null ? "New deal" : $"Edit {deal.Name}", parameters, Options);
        return await dialog.Result is { Canceled: false, Data: DealDetails saved } ? saved : null;
    }

    /// <summary>Creates (no id) or updates the deal through its grain, with the version the dialog read.</summary>
    public static Task<UiResult<DealDetails>> SaveAsync(UiSession session, Guid? id, DealFields fields, int? version) => id is not { } existing
        ? session.RunAsync<DealDetails>((grains, caller) => Deal(grains, caller, Guid.NewGuid()).CreateAsync(fields), write: true)
        : session.RunAsync<DealDetails>((grains, caller) => Deal(grains, caller, existing).UpdateAsync(fields, version), write: true);

    /// <summary>The customer's contacts by name, as the contacts list reads them.</summary>
    public static async Task<UiResult<IReadOnlyList<ContactChoice>>> ContactsOfAsync(UiSession session, Guid customerId)
    {
        var query = new ContactQuery(null, customerId, null, null, ContactSort.NameAscending, ContactChoices, null);
        var result = await session.RunAsync((grains, caller) => grains.GetGrain<IContactQueryGrain>(GrainKeys.ContactQuery(caller.TenantId)).ListAsync(query));
        return result.Ok
            ? UiResult<IReadOnlyList<ContactChoice>>.Success(result.Value!.Items.Select(c => new ContactChoice(c.Id, ContactName(c))).ToList())
            : new UiResult<IReadOnlyList<ContactChoice>>(null, result.Failure, result.Message);
    }

    public static string ContactName(ContactDetails contact) => contact.DisplayName is { Length: > 0 } name ? name : contact.Email ?? "(no name)";

    public static string StageName(IEnumerable<PipelineStage> stages, Guid id) => stages.FirstOrDefault(s => s.Id == id)?.Name ?? "(removed stage)";

    public static IDealGrain Deal(IGrainFactory grains, Caller caller, Guid id) => grains.GetGrain<IDealGrain>(GrainKeys.Deal(caller.TenantId, id));

    private static async Task<IEnumerable<CustomerChoice>> FindCustomersAsync(UiSession session, ISnackbar snackbar, string? text)
    {
        var result = await CustomerLookup.SearchAsync(session, text);
        if (!result.Ok)
        {
            snackbar.Add(result.Message!, Severity.Error);
            return [];
        }

        return result.Value!;
    }
}
