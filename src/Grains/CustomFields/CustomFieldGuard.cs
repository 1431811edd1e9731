using System.Text.Json;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Interfaces.CustomFields;

namespace Shohayota.Grains.CustomFields;

/// <summary>
/// The statement a record write (a grain's, an import's) runs in its own transaction before it writes values: it locks
/// the definition rows of the keys it writes <c>FOR SHARE</c>, as it checked them (same type, a select's option still
/// there), and refuses the transaction when one is gone or changed. A replacement of the definitions locks the same
/// rows <c>FOR UPDATE</c>, so whichever commits first, the other sees it: a value never outlives its definition.
/// </summary>
internal static class CustomFieldGuard
{
    /// <summary>What <c>expect_rows_changed</c> reports when a definition a write relies on changed meanwhile.</summary>
    public const string Changed = "custom_fields_changed";

    public const string ChangedMessage = "The custom fields changed meanwhile; reload and try again.";

    /// <summary>
    /// The guard for <paramref name="values"/> (one or more records' canonical values) as checked against
    /// <paramref name="definitions"/>, or null when they hold none.
    /// </summary>
    public static SqlStatement? For(Guid tenantId, string recordType, IReadOnlyList<CustomFieldDefinition> definitions, IEnumerable<string> values)
    {
        var byKey = definitions.ToDictionary(d => d.Key, StringComparer.Ordinal);
        var uses = new HashSet<(string Key, string Type, string Option)>();
        foreach (var text in values)
        {
            if (text == CustomFieldRules.Empty)
            {
                continue;
            }

            using var document = JsonDocument.Parse(text);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var type = byKey.TryGetValue(property.Name, out var definition) ? definition.Type : "";
                // A select's value must still be one of its options; "" stands for "any value" of the other types.
                uses.Add((property.Name, type, type == CustomFieldTypes.Select ? property.Value.GetString() ?? "" : ""));
            }
        }

        if (uses.Count == 0)
        {
            return null;
        }

        var keys = uses.Select(u => u.Key).Distinct(StringComparer.Ordinal).ToArray();
        // Every key's row locked and still there, of the type the values were checked against, a select's value still an option.
        return AuditExtensions.Sql(
            $"""
            WITH locked AS (
                SELECT key, type, options FROM custom_field_definitions
                WHERE tenant_id = $1 AND record_type = $2 AND key = ANY($3::text[])
                FOR SHARE)
            SELECT expect_rows_changed(CASE WHEN (SELECT count(*) FROM locked) = cardinality($3::text[])
                AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[], $6::text[]) AS u(key, type, option) JOIN locked l USING (key)
                    WHERE l.type <> u.type OR (u.type = 'select' AND NOT (u.option = ANY(l.options))))
                THEN 1 ELSE 0 END, '{Changed}')
            """,
            tenantId, recordType, keys, uses.Select(u => u.Key).ToArray(), uses.Select(u => u.Type).ToArray(), uses.Select(u => u.Option).ToArray());
    }
}
