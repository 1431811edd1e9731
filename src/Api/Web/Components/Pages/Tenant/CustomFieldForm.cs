using System.Globalization;
using System.Text.Json;
using MudBlazor;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;

namespace Shohayota.Api.Web.Components.Pages.Tenant;

/// <summary>
/// A record's custom-field values while a dialog edits them: one typed value per definition, read from the record's
/// canonical text and written back through <see cref="CustomFieldRules.Canonicalize"/>, so the dialog refuses what the
/// grain refuses, in the same words, next to the same inputs (errors keyed <c>customFields.{key}</c>).
/// </summary>
public sealed class CustomFieldValues
{
    private readonly Dictionary<string, string?> _texts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, decimal?> _numbers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _booleans = new(StringComparer.Ordinal);
    private readonly HashSet<string> _held = new(StringComparer.Ordinal);

    private CustomFieldValues(IReadOnlyList<CustomFieldDefinition> definitions) => Definitions = definitions;

    /// <summary>The record type's fields, in their order: one input each.</summary>
    public IReadOnlyList<CustomFieldDefinition> Definitions { get; }

    /// <summary>The values of <paramref name="canonical"/> (a record's <c>CustomFields</c>; <c>{}</c> for a new record) for <paramref name="definitions"/>.</summary>
    public static CustomFieldValues From(IReadOnlyList<CustomFieldDefinition> definitions, string? canonical)
    {
        var values = new CustomFieldValues(definitions);
        using var document = JsonDocument.Parse(string.IsNullOrEmpty(canonical) ? CustomFieldRules.Empty : canonical);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            values._held.Add(property.Name);
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.Number when property.Value.TryGetDecimal(out var number):
                    values._numbers[property.Name] = number;
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    values._booleans[property.Name] = property.Value.GetBoolean();
                    break;
                case JsonValueKind.String:
                    values._texts[property.Name] = property.Value.GetString();
                    break;
            }
        }

        return values;
    }

    /// <summary>A text, date (YYYY-MM-DD) or select field's value.</summary>
    public string? Text(string key) => _texts.GetValueOrDefault(key);

    public void SetText(string key, string? value) => _texts[key] = value;

    public decimal? Number(string key) => _numbers.GetValueOrDefault(key);

    public void SetNumber(string key, decimal? value) => _numbers[key] = value;

    public bool Boolean(string key) => _booleans.GetValueOrDefault(key);

    public void SetBoolean(string key, bool value) => _booleans[key] = value;

    /// <summary>
    /// The values as the record's canonical text, every problem added to <paramref name="errors"/>. An empty input is no
    /// value; an unticked box is <c>false</c> when the field is required or the record held it, and no value otherwise
    /// (saving a record does not give it every yes/no field it never had).
    /// </summary>
    public string Canonical(Dictionary<string, string> errors)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var definition in Definitions)
            {
                Write(json, definition);
            }

            json.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return CustomFieldRules.Canonicalize(document.RootElement, Definitions, errors);
    }

    private void Write(Utf8JsonWriter json, CustomFieldDefinition definition)
    {
        var key = definition.Key;
        switch (definition.Type)
        {
            case CustomFieldTypes.Number when Number(key) is { } number:
                json.WriteNumber(key, number);
                break;
            case CustomFieldTypes.Boolean when Boolean(key) || definition.Required || _held.Contains(key):
                json.WriteBoolean(key, Boolean(key));
                break;
            case CustomFieldTypes.Text or CustomFieldTypes.Date or CustomFieldTypes.Select when RecordForm.Blank(Text(key)) is { } text:
                json.WriteString(key, text);
                break;
        }
    }
}

/// <summary>What the record dialogs and pages share about custom fields: reading the definitions, a grain's refusal beside its input, a value in words.</summary>
public static class CustomFieldForm
{
    /// <summary>The error key of a field's input, as <see cref="CustomFieldRules.Canonicalize"/> names it.</summary>
    public static string ErrorKey(string key) => $"customFields.{key}";

    /// <summary>The definitions of <paramref name="recordType"/> as the grain keeps them.</summary>
    public static Task<UiResult<IReadOnlyList<CustomFieldDefinition>>> DefinitionsAsync(UiSession session, string recordType) =>
        session.RunAsync((grains, caller) => Grain(grains, caller).GetAsync(recordType));

    /// <summary>The definitions a dialog shows, read when it opens (an admin may have changed them since the page loaded); null, said in a snackbar, when they could not be read.</summary>
    public static async Task<IReadOnlyList<CustomFieldDefinition>?> ForDialogAsync(UiSession session, ISnackbar snackbar, string recordType)
    {
        var result = await DefinitionsAsync(session, recordType);
        if (!result.Ok)
        {
            snackbar.Add(result.Message ?? "The custom fields could not be read.", Severity.Error);
            return null;
        }

        return result.Value;
    }

    public static ICustomFieldsGrain Grain(IGrainFactory grains, Caller caller) => grains.GetGrain<ICustomFieldsGrain>(GrainKeys.CustomFields(caller.TenantId));

    /// <summary>
    /// A grain's refusal of a custom value (<c>customFields.{key}: message</c>, its <see cref="CustomFieldRules.Check"/>)
    /// as the input it concerns and the words; null for any other refusal.
    /// </summary>
    public static (string Field, string Message)? Refusal(Failure failure, string? message)
    {
        if (failure != Failure.Validation || message is null || !message.StartsWith("customFields", StringComparison.Ordinal))
        {
            return null;
        }

        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon < 0 ? ("customFields", message) : (message[..colon], message[(colon + 2)..]);
    }

    /// <summary>A value as the customer's page shows it: yes/no for booleans, the rest as stored.</summary>
    public static string Text(CustomFieldDefinition definition, string canonical) =>
        CustomFieldRules.Entries(canonical).FirstOrDefault(e => e.Key == definition.Key) is { Key: not null } entry
            ? definition.Type == CustomFieldTypes.Boolean ? entry.Text == "true" ? "Yes" : "No"
            : definition.Type == CustomFieldTypes.Number && decimal.TryParse(entry.Text, NumberStyles.Number, CultureInfo.InvariantCulture, out var n)
                ? n.ToString("#,0.######", CultureInfo.InvariantCulture)
                : entry.Text
            : "";
}
