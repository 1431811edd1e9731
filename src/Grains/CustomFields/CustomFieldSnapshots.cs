namespace Shohayota.Grains.CustomFields;

/// <summary>Custom field values in a record's audit snapshot: one <c>cf.{key}</c> entry per value, so an update shows each field's change.</summary>
internal static class CustomFieldSnapshots
{
    public static Dictionary<string, object?> WithCustomFields(this Dictionary<string, object?> snapshot, string values)
    {
        foreach (var (key, text) in CustomFieldRules.Entries(values))
        {
            snapshot[$"cf.{key}"] = text;
        }

        return snapshot;
    }
}
