using System.Globalization;
using Orleans.Concurrency;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;

namespace Shohayota.Grains.CustomFields;

/// <summary>
/// One tenant's custom-field definitions, every record type's: the single writer of its rows, read on first need and
/// kept in memory (every record write asks for them). A replacement is one transaction through the tenant's audit
/// writer: it locks the record type's definition rows <c>FOR UPDATE</c>, refuses (409) when records still hold values
/// it would strand (a field removed, its type changed, a select option removed), then writes the list and the
/// <c>custom_fields.updated</c> entry. Record writes lock the rows they rely on <c>FOR SHARE</c> (<see cref="CustomFieldGuard"/>).
/// </summary>
[GrainType("custom-fields")]
public sealed class CustomFieldsGrain(TenantDatabase database) : Grain, ICustomFieldsGrain
{
    /// <summary>What refuses a replacement when records hold values it would strand (counted in the same transaction).</summary>
    private const string Held = "custom_fields_held";

    private static readonly IReadOnlyDictionary<string, string> Nouns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [CustomFieldRecordTypes.Customers] = "customer",
        [CustomFieldRecordTypes.Contacts] = "contact",
        [CustomFieldRecordTypes.Deals] = "deal",
    };

    private Dictionary<string, IReadOnlyList<CustomFieldDefinition>>? _definitions;
    private Task<Dictionary<string, IReadOnlyList<CustomFieldDefinition>>>? _loading;

    private Guid TenantId => GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;

    public async Task<IReadOnlyList<CustomFieldDefinition>> GetAsync(string recordType)
    {
        if (!CustomFieldRecordTypes.All.Contains(recordType))
        {
            throw new ArgumentOutOfRangeException(nameof(recordType), recordType, "Not a record type with custom fields.");
        }

        var all = await AllAsync();
        return all.TryGetValue(recordType, out var list) ? list : [];
    }

    /// <summary>Every record type's definitions; interleaved reads of a cold grain wait for one load.</summary>
    private async Task<Dictionary<string, IReadOnlyList<CustomFieldDefinition>>> AllAsync()
    {
        if (_definitions is { } loaded)
        {
            return loaded;
        }

        var loading = _loading ??= LoadAsync();
        try
        {
            return _definitions = await loading;
        }
        finally
        {
            if (ReferenceEquals(_loading, loading))
            {
                _loading = null;
            }
        }
    }

    private Task<Dictionary<string, IReadOnlyList<CustomFieldDefinition>>> LoadAsync() => database.ReadAsync(
        TenantId,
        TenantDatabase.Statement("SELECT record_type, key, label, type, options, required FROM custom_field_definitions ORDER BY record_type, position, key"),
        async reader =>
        {
            var found = new Dictionary<string, List<CustomFieldDefinition>>(StringComparer.Ordinal);
            while (await reader.ReadAsync())
            {
                var type = reader.GetString(0);
                (found.TryGetValue(type, out var list) ? list : found[type] = []).Add(
                    new CustomFieldDefinition(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<string[]>(4), reader.GetBoolean(5)));
            }

            return found.ToDictionary(p => p.Key, p => (IReadOnlyList<CustomFieldDefinition>)p.Value, StringComparer.Ordinal);
        });

    public async Task<Outcome<IReadOnlyList<CustomFieldDefinition>>> ReplaceAsync(string recordType, IReadOnlyList<CustomFieldDefinition> definitions)
    {
        // The grain's own rule, not only the route's: a tenant's admins define custom fields (a key of that role too), members do not.
        if (Caller.Current is not { } caller || !(caller.Role == Roles.TenantAdmin && caller.TenantId == TenantId || caller.IsSuperAdmin))
        {
            return Outcome<IReadOnlyList<CustomFieldDefinition>>.Fail(Failure.Forbidden, "Only the tenant's admins change custom fields.");
        }

        if (!CustomFieldRecordTypes.All.Contains(recordType))
        {
            return Outcome<IReadOnlyList<CustomFieldDefinition>>.Fail(Failure.Validation,
                $"recordType: custom fields are defined for {string.Join(", ", CustomFieldRecordTypes.All)}.");
        }

        if (CustomFieldRules.CheckDefinitions(definitions).FirstOrDefault() is { Key: { } field, Value: { } rule })
        {
            return Outcome<IReadOnlyList<CustomFieldDefinition>>.Fail(Failure.Validation, $"{field}: {rule}");
        }

        // Stored as given but for the label's spaces; options in their order, none for other types.
        var next = definitions.Select(d => d with { Label = d.Label.Trim(), Options = d.Type == CustomFieldTypes.Select ? [.. d.Options] : [] }).ToArray();
        var current = await GetAsync(recordType);
        var byKey = next.ToDictionary(d => d.Key, StringComparer.Ordinal);
        var stranded = Stranded(current, byKey);
        var removed = current.Where(d => !byKey.ContainsKey(d.Key)).ToArray();
        var table = recordType;
        var statements = new List<SqlStatement>
        {
            // The record type's rows locked first: a record write holding one (FOR SHARE) commits before, and one after waits and sees this.
            AuditExtensions.Sql("SELECT count(*) FROM (SELECT 1 FROM custom_field_definitions WHERE tenant_id = $1 AND record_type = $2 FOR UPDATE) AS locked",
                TenantId, recordType),
        };
        if (stranded.Keys.Length + stranded.OptionKeys.Length > 0)
        {
            statements.Add(AuditExtensions.Sql(
                $"""
                SELECT expect_rows_changed(CASE WHEN EXISTS (SELECT 1 FROM {table} WHERE tenant_id = $1 AND custom_fields ?| $2::text[])
                    OR EXISTS (SELECT 1 FROM {table} t JOIN unnest($3::text[], $4::text[]) AS o(key, value) ON t.custom_fields ->> o.key = o.value
                               WHERE t.tenant_id = $1)
                    THEN 0 ELSE 1 END, '{Held}')
                """,
                TenantId, stranded.Keys, stranded.OptionKeys, stranded.OptionValues));
        }

        statements.Add(AuditExtensions.Sql(
            "DELETE FROM custom_field_definitions WHERE tenant_id = $1 AND record_type = $2 AND NOT (key = ANY($3::text[]))",
            TenantId, recordType, next.Select(d => d.Key).ToArray()));
        if (next.Length > 0)
        {
            statements.Add(AuditExtensions.Sql(
                """
                INSERT INTO custom_field_definitions (tenant_id, record_type, key, position, label, type, options, required)
                SELECT $1, $2, d.key, d.position, d.label, d.type, coalesce((SELECT array_agg(o.value ORDER BY o.n) FROM jsonb_array_elements_text(d.options) WITH ORDINALITY AS o(value, n)), '{}'), d.required
                FROM jsonb_to_recordset($3::jsonb) AS d(key text, position integer, label text, type text, options jsonb, required boolean)
                ON CONFLICT (tenant_id, record_type, key) DO UPDATE SET position = excluded.position, label = excluded.label, type = excluded.type,
                    options = excluded.options, required = excluded.required
                """,
                TenantId, recordType, System.Text.Json.JsonSerializer.Serialize(next.Select((d, i) => new
                {
                    key = d.Key, position = i, label = d.Label, type = d.Type, options = d.Options, required = d.Required,
                }))));
        }

        var entry = new AuditDraft("custom_fields.updated", "custom_fields", recordType, Details: AuditChain.Details(new
        {
            recordType,
            fields = next.Select(d => new { key = d.Key, label = d.Label, type = d.Type, options = d.Options, required = d.Required }),
            removed = removed.Select(d => d.Key),
        }));
        var result = await GrainFactory.AuditLog(TenantId).ExecuteAsync(AuditExtensions.Change([.. statements], entry));
        if (!result.Committed)
        {
            if (result.Constraint == Held)
            {
                return Outcome<IReadOnlyList<CustomFieldDefinition>>.Fail(Failure.Conflict, await HeldMessageAsync(recordType, current, stranded));
            }

            throw new InvalidOperationException($"Replacing the custom fields was refused by the database ({result.SqlState}).");
        }

        _definitions = new Dictionary<string, IReadOnlyList<CustomFieldDefinition>>(await AllAsync(), StringComparer.Ordinal) { [recordType] = next };
        return Outcome<IReadOnlyList<CustomFieldDefinition>>.Ok(next);
    }

    public Task ForgetAsync()
    {
        _definitions = null;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    /// <summary>What records must not hold for the replacement to go through: the keys removed or retyped, the select options removed.</summary>
    private sealed record Strands(string[] Keys, string[] OptionKeys, string[] OptionValues);

    private static Strands Stranded(IReadOnlyList<CustomFieldDefinition> current, Dictionary<string, CustomFieldDefinition> next)
    {
        var keys = new List<string>();
        var options = new List<(string Key, string Value)>();
        foreach (var was in current)
        {
            if (!next.TryGetValue(was.Key, out var now) || now.Type != was.Type)
            {
                keys.Add(was.Key);
            }
            else if (was.Type == CustomFieldTypes.Select)
            {
                options.AddRange(was.Options.Where(o => !now.Options.Contains(o)).Select(o => (was.Key, o)));
            }
        }

        return new([.. keys], [.. options.Select(o => o.Key)], [.. options.Select(o => o.Value)]);
    }

    /// <summary>"3 customers hold values of 'industry'; …; clear them first." from the counts as they are now.</summary>
    private async Task<string> HeldMessageAsync(string recordType, IReadOnlyList<CustomFieldDefinition> current, Strands stranded)
    {
        var table = recordType;
        var counts = await database.ReadAsync(
            TenantId,
            TenantDatabase.Statement(
                $"""
                SELECT k.key, NULL::text, (SELECT count(*) FROM {table} t WHERE t.tenant_id = $1 AND t.custom_fields ? k.key)
                FROM unnest($2::text[]) AS k(key)
                UNION ALL
                SELECT o.key, o.value, (SELECT count(*) FROM {table} t WHERE t.tenant_id = $1 AND t.custom_fields ->> o.key = o.value)
                FROM unnest($3::text[], $4::text[]) AS o(key, value)
                """,
                TenantId, stranded.Keys, stranded.OptionKeys, stranded.OptionValues),
            async reader =>
            {
                var rows = new List<(string Key, string? Option, long Count)>();
                while (await reader.ReadAsync())
                {
                    rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2)));
                }

                return rows;
            });
        var noun = Nouns[recordType];
        var parts = counts.Where(c => c.Count > 0).Select(c =>
        {
            var records = c.Count == 1 ? $"1 {noun} holds" : $"{c.Count.ToString(CultureInfo.InvariantCulture)} {noun}s hold";
            return c.Option is { } option ? $"{records} the option '{option}' of '{c.Key}'" : $"{records} values of '{c.Key}'";
        }).ToArray();
        return parts.Length == 0
            ? "The records changed meanwhile; reload and try again."
            : $"{string.Join("; ", parts)}; clear them first.";
    }
}
