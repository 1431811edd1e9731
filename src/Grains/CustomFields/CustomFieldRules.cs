using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Shohayota.Grains.Interfaces.CustomFields;

namespace Shohayota.Grains.CustomFields;

/// <summary>
/// The rules of custom-field definitions and of the values records hold, shared by the REST layer (every error listed),
/// the grains, the import, the restore and the UI. Values travel as one canonical JSON object text: keys in ordinal
/// order, strings as given, numbers as the exact decimal without trailing zeros or exponent, booleans, dates as
/// <c>YYYY-MM-DD</c> strings, <c>{}</c> for none. The same values always give the same text, so the grain's copy, the
/// row (re-read through <see cref="Canonical"/>), an idempotent retry and an audit entry agree.
/// </summary>
public static class CustomFieldRules
{
    public const int MaxFields = 30;
    public const int MaxLabel = 100;
    public const int MaxOptions = 50;
    public const int MaxOption = 100;
    public const int MaxText = 2000;
    public const int MaxDecimals = 6;

    /// <summary>Numbers are below 10^15 in magnitude with at most six decimals, kept exactly (numeric in PostgreSQL).</summary>
    public const decimal MaxNumber = 1_000_000_000_000_000m;

    public const string Empty = "{}";

    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Whether <paramref name="key"/> is a field key: a lower-case letter, then up to 39 letters, digits or underscores (sql/0200).</summary>
    public static bool IsKey(string? key) =>
        key is { Length: >= 1 and <= 40 } && key[0] is >= 'a' and <= 'z' && key.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_');

    /// <summary>
    /// The rules of a whole definition list, as "field: problem" pairs named <c>fields</c>, <c>fields[i]</c>,
    /// <c>fields[i].key</c>, <c>.label</c>, <c>.type</c>, <c>.options</c> (the REST layer lists them all; a restore names them its own way
    /// through <paramref name="list"/>).
    /// </summary>
    public static Dictionary<string, string> CheckDefinitions(IReadOnlyList<CustomFieldDefinition?>? fields, string list = "fields")
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (fields is null || fields.Count > MaxFields)
        {
            errors[list] = $"A record type has at most {MaxFields} custom fields (an empty list removes them all).";
            return errors;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        var labels = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < fields.Count; i++)
        {
            var at = $"{list}[{i}]";
            if (fields[i] is not { } field)
            {
                errors[at] = "A custom field is an object {key, label, type, options?, required?}.";
                continue;
            }

            if (!IsKey(field.Key))
            {
                errors[$"{at}.key"] = "A key starts with a lower-case letter and has up to 40 lower-case letters, digits and underscores.";
            }
            else if (!keys.Add(field.Key))
            {
                errors[$"{at}.key"] = $"The key \"{field.Key}\" is given twice.";
            }

            if (string.IsNullOrWhiteSpace(field.Label) || field.Label.Length > MaxLabel)
            {
                errors[$"{at}.label"] = $"A label has 1 to {MaxLabel} characters.";
            }
            else if (!labels.Add(field.Label.Trim()))
            {
                errors[$"{at}.label"] = $"Two custom fields cannot have the label \"{field.Label.Trim()}\".";
            }

            if (!CustomFieldTypes.All.Contains(field.Type))
            {
                errors[$"{at}.type"] = "type is one of: text, number, date, select, boolean.";
            }
            else if (field.Type == CustomFieldTypes.Select)
            {
                var options = field.Options ?? [];
                if (options.Count is 0 or > MaxOptions || options.Any(o => string.IsNullOrWhiteSpace(o) || o.Length > MaxOption || o != o.Trim())
                    || options.Distinct(StringComparer.Ordinal).Count() != options.Count)
                {
                    errors[$"{at}.options"] =
                        $"A select field has 1 to {MaxOptions} different options of 1 to {MaxOption} characters, without spaces around them.";
                }
            }
            else if (field.Options is { Count: > 0 })
            {
                errors[$"{at}.options"] = "Only a select field has options.";
            }
        }

        return errors;
    }

    /// <summary>
    /// The values of a request body's <c>customFields</c> object checked against <paramref name="definitions"/>: the
    /// canonical text, with every problem added to <paramref name="errors"/> as <c>customFields.{key}</c> (or
    /// <c>customFields</c>). Null, absent, <c>null</c> values and empty strings mean "no value".
    /// </summary>
    public static string Canonicalize(JsonElement? values, IReadOnlyList<CustomFieldDefinition> definitions, Dictionary<string, string> errors,
        string field = "customFields")
    {
        var found = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        if (values is { ValueKind: JsonValueKind.Object } obj)
        {
            foreach (var property in obj.EnumerateObject())
            {
                if (property.Value.ValueKind is JsonValueKind.Null || property.Value is { ValueKind: JsonValueKind.String } s && s.GetString() == "")
                {
                    continue;
                }

                if (!found.TryAdd(property.Name, property.Value))
                {
                    errors[$"{field}.{property.Name}"] = $"{property.Name} is given twice.";
                }
            }
        }
        else if (values is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
        {
            errors[field] = "customFields is an object of custom field keys and their values.";
            return Empty;
        }

        return Write(found, definitions, errors, field);
    }

    /// <summary>The first problem of canonical <paramref name="values"/> under <paramref name="definitions"/> (the grain and the restore check again), or null.</summary>
    public static string? Check(string values, IReadOnlyList<CustomFieldDefinition> definitions, string field = "customFields")
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonElement parsed;
        try
        {
            using var document = JsonDocument.Parse(values);
            parsed = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return $"{field}: not a JSON object.";
        }

        var canonical = Canonicalize(parsed, definitions, errors, field);
        return errors.FirstOrDefault() is { Key: { } key, Value: { } message } ? $"{key}: {message}"
            : canonical != values ? $"{field}: not in canonical form."
            : null;
    }

    /// <summary>
    /// One value from text (a CSV cell, a <c>cf.{key}=</c> filter) as the field's JSON value: numbers and booleans parsed,
    /// the rest as strings; the error says why it is not one.
    /// </summary>
    public static (JsonElement? Value, string? Error) FromText(CustomFieldDefinition definition, string text)
    {
        var json = definition.Type switch
        {
            CustomFieldTypes.Number when decimal.TryParse(text.Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var n) =>
                n.ToString(CultureInfo.InvariantCulture),
            CustomFieldTypes.Number => null,
            CustomFieldTypes.Boolean when text.Trim().ToLowerInvariant() is "true" or "false" => text.Trim().ToLowerInvariant(),
            CustomFieldTypes.Boolean => null,
            _ => JsonSerializer.Serialize(text),
        };
        if (json is null)
        {
            return (null, definition.Type == CustomFieldTypes.Number ? $"{definition.Label} is a number." : $"{definition.Label} is true or false.");
        }

        using var document = JsonDocument.Parse(json);
        var value = document.RootElement.Clone();
        return ValueError(definition, value) is { } error ? (null, error) : (value, null);
    }

    /// <summary>Canonical text of a JSON object's values, whoever wrote it (PostgreSQL's jsonb text has spaces, other escapes and key order).</summary>
    public static string Canonical(string json)
    {
        if (json == Empty)
        {
            // Most rows hold no values: a list page reads them without parsing anything.
            return Empty;
        }

        using var document = JsonDocument.Parse(json);
        var found = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            found[property.Name] = property.Value;
        }

        return WriteValues(found);
    }

    /// <summary>The keys of canonical values, in order.</summary>
    public static string[] Keys(string values)
    {
        if (values == Empty)
        {
            return [];
        }

        using var document = JsonDocument.Parse(values);
        return [.. document.RootElement.EnumerateObject().Select(p => p.Name)];
    }

    /// <summary>Each value as text: a string as it is, a number as its decimal, a boolean as true/false (what jsonb_each_text gives).</summary>
    public static IReadOnlyList<(string Key, string Text)> Entries(string values)
    {
        if (values == Empty)
        {
            return [];
        }

        using var document = JsonDocument.Parse(values);
        return [.. document.RootElement.EnumerateObject().Select(p => (p.Name, Text(p.Value)))];
    }

    /// <summary>
    /// The bytes the values count against the storage quota: each key's and value text's UTF-8 bytes, the same sum as
    /// <c>jsonb_each_text</c> gives in SQL (see <see cref="BytesSql"/>).
    /// </summary>
    public static long Bytes(string values) =>
        values == Empty ? 0 : Entries(values).Sum(e => (long)Encoding.UTF8.GetByteCount(e.Key) + Encoding.UTF8.GetByteCount(e.Text));

    /// <summary>
    /// <see cref="Bytes"/> in SQL over a table's <c>custom_fields</c> column (per row). The sub-select over
    /// <c>jsonb_each_text</c> runs only for a row that has values: most rows have none, and a sub-select per row is most
    /// of the cost of summing a large tenant's storage.
    /// </summary>
    public const string BytesSql =
        "CASE WHEN custom_fields = '{}'::jsonb THEN 0 ELSE (SELECT coalesce(sum(octet_length(k) + octet_length(v)), 0) FROM jsonb_each_text(custom_fields) AS e(k, v)) END";

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };

    private static string Write(SortedDictionary<string, JsonElement> found, IReadOnlyList<CustomFieldDefinition> definitions, Dictionary<string, string> errors,
        string field)
    {
        var byKey = definitions.ToDictionary(d => d.Key, StringComparer.Ordinal);
        foreach (var (key, value) in found)
        {
            if (!byKey.TryGetValue(key, out var definition))
            {
                errors[$"{field}.{key}"] = $"\"{key}\" is not a custom field here; the custom fields are: {(definitions.Count == 0 ? "none" : string.Join(", ", definitions.Select(d => d.Key)))}.";
            }
            else if (ValueError(definition, value) is { } error)
            {
                errors[$"{field}.{key}"] = error;
            }
        }

        foreach (var definition in definitions.Where(d => d.Required && !found.ContainsKey(d.Key)))
        {
            errors[$"{field}.{definition.Key}"] = $"{definition.Label} is required.";
        }

        return WriteValues(found);
    }

    private static string WriteValues(SortedDictionary<string, JsonElement> found)
    {
        if (found.Count == 0)
        {
            return Empty;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Writer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in found)
            {
                json.WritePropertyName(key);
                switch (value.ValueKind)
                {
                    case JsonValueKind.Number when value.TryGetDecimal(out var number):
                        json.WriteRawValue(Normalized(number).ToString(CultureInfo.InvariantCulture));
                        break;
                    default:
                        value.WriteTo(json);
                        break;
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The same number without trailing zeros (1.50 → 1.5, 100 stays 100).</summary>
    private static decimal Normalized(decimal value) => value / 1.000000000000000000000000000000000m;

    private static string? ValueError(CustomFieldDefinition definition, JsonElement value) => definition.Type switch
    {
        CustomFieldTypes.Text => value.ValueKind == JsonValueKind.String && value.GetString()!.Length <= MaxText ? null
            : $"{definition.Label} is text of at most {MaxText} characters.",
        CustomFieldTypes.Number => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var n) && Math.Abs(n) < MaxNumber
            && decimal.Round(n, MaxDecimals) == n ? null
            : $"{definition.Label} is a number below 10^15 in magnitude with at most {MaxDecimals} decimals.",
        CustomFieldTypes.Date => value.ValueKind == JsonValueKind.String
            && DateOnly.TryParseExact(value.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) ? null
            : $"{definition.Label} is a date, YYYY-MM-DD.",
        CustomFieldTypes.Select => value.ValueKind == JsonValueKind.String && definition.Options.Contains(value.GetString()!) ? null
            : $"{definition.Label} is one of: {string.Join(", ", definition.Options)}.",
        CustomFieldTypes.Boolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : $"{definition.Label} is true or false.",
        _ => $"{definition.Label} has an unknown type.",
    };
}
