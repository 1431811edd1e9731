using System.Text.RegularExpressions;
using MudBlazor;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Web.Components.Pages.Tenant;

/// <summary>What a deletion came to: null when the user said no to either question.</summary>
/// <param name="Result">The grain's answer to the last delete.</param>
/// <param name="Dependents">What went with the record ("2 contacts and 3 activities"), or null when nothing did.</param>
public sealed record Deletion(UiResult<bool> Result, string? Dependents);

/// <summary>
/// Deleting a customer, a contact or a deal from the pages: a first question, the plain delete, and when the grain refuses
/// because other records still depend on it (its refusal counts them), a second, explicit question naming them before
/// the cascade removes them with it. A refusal for any other reason is the caller's to show.
/// </summary>
public static partial class RecordDeletion
{
    public static async Task<Deletion?> RunAsync(IDialogService dialogs, string noun, string name, Func<bool, Task<UiResult<bool>>> delete)
    {
        var title = char.ToUpperInvariant(noun[0]) + noun[1..];
        if (await dialogs.ShowMessageBoxAsync($"Delete {noun}", $"Delete {name}? This cannot be undone.", yesText: "Delete", cancelText: "Cancel") != true)
        {
            return null;
        }

        var result = await delete(false);
        if (result.Failure != Failure.Conflict || Dependents(result.Message) is not { } dependents)
        {
            return new Deletion(result, null);
        }

        var cascade = await dialogs.ShowMessageBoxAsync($"Delete {noun} and its records", $"Delete {name} and its {dependents}? This cannot be undone.",
            yesText: "Delete all", cancelText: "Cancel");
        return cascade == true ? new Deletion(await delete(true), dependents) : null;
    }

    /// <summary>
    /// What a grain's refusal counts ("The customer still has 2 contacts, 1 deal and 3 activities. …"): "2 contacts,
    /// 1 deal and 3 activities", "1 contact" or "3 deals"; null when it names no count.
    /// </summary>
    public static string? Dependents(string? refusal) =>
        refusal is not null && DependentsPattern().Match(refusal) is { Success: true } match ? match.Groups["what"].Value : null;

    private const string Dependent = @"\d+ (?:contacts?|deals?|activity|activities)";

    [GeneratedRegex($@"\bstill has (?<what>{Dependent}(?:(?:, | and ){Dependent})*)\.", RegexOptions.CultureInvariant)]
    private static partial Regex DependentsPattern();
}
