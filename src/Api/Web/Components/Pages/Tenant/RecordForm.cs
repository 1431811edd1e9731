using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Web.Components.Pages.Tenant;

/// <summary>What the record dialogs (customers, contacts) share: how their fields become the API's values, and refusals in words.</summary>
public static class RecordForm
{
    /// <summary>Comma-separated tags as the API takes them: trimmed, no empty ones, each once.</summary>
    public static List<string> Tags(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();

    public static string TagsText(IEnumerable<string> tags) => string.Join(", ", tags);

    /// <summary>An empty field is no value, as in the API.</summary>
    public static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>A version conflict in the record's words (<paramref name="noun"/>: "customer"); anything else as the session words it.</summary>
    public static string Message(string noun, Failure failure, string? message) => failure == Failure.PreconditionFailed
        ? $"This {noun} was changed in the meantime by someone else. Reload to see their changes, then edit again."
        : message ?? "Not saved.";
}
