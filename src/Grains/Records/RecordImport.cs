using System.Text.Json;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Records;

namespace Shohayota.Grains.Records;

/// <summary>
/// A record type as an import sees it: its rules, its e-mail (duplicates are found by it), the references to check,
/// how a row becomes a new record or changes an existing one, and the set-based SQL that writes a whole file at once.
/// </summary>
internal abstract class RecordImport<TFields, TDetails>
    where TDetails : class, IRecordDetails
{
    /// <summary>The plural the API and the audit use: <c>customers</c>, <c>contacts</c>.</summary>
    public abstract string Records { get; }

    public abstract RecordType Type { get; }

    /// <summary>How many of the counted customers quota one new record uses.</summary>
    public virtual long CountedRecords => 0;

    public abstract Dictionary<string, string> Check(TFields fields);

    /// <summary>The type's custom fields (one of <see cref="CustomFieldRecordTypes"/>), or null for a type without.</summary>
    public virtual string? CustomFieldRecordType => null;

    /// <summary>The custom field values a row gives (its <c>cf.{key}</c> cells that are not empty).</summary>
    public virtual string CustomFieldsOf(TFields fields) => CustomFieldRules.Empty;

    public virtual string CustomFieldsOf(TDetails record) => CustomFieldRules.Empty;

    /// <summary>
    /// The values a record holds after an update from a file: the file's <c>cf.{key}</c> columns replace those keys' values
    /// (an empty cell clears one), the others stay.
    /// </summary>
    public static string MergeCustomFields(string existing, string given, IReadOnlySet<string> columns)
    {
        var merged = new System.Text.Json.Nodes.JsonObject();
        foreach (var (values, fromFile) in new[] { (existing, false), (given, true) })
        {
            using var document = JsonDocument.Parse(values);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (columns.Contains($"cf.{property.Name}") == fromFile)
                {
                    merged[property.Name] = System.Text.Json.Nodes.JsonNode.Parse(property.Value.GetRawText());
                }
            }
        }

        return CustomFieldRules.Canonical(merged.ToJsonString());
    }

    public abstract string? Email(TFields fields);

    public abstract string? Email(TDetails record);

    /// <summary>The ids a row names that must be the tenant's: column → (table, id).</summary>
    public abstract IEnumerable<(string Column, string Table, Guid Id)> References(TFields fields);

    public abstract TDetails Create(Guid id, TFields fields, DateTimeOffset now);

    /// <summary>The record with the file's columns replaced (the others kept), one version on.</summary>
    public abstract TDetails Merge(TDetails existing, TFields fields, IReadOnlySet<string> columns, DateTimeOffset now);

    public abstract Dictionary<string, object?> Snapshot(TDetails record);

    /// <summary>Drops the activation of a record the import changed under it (<c>ForgetAsync</c> of its grain).</summary>
    public abstract Task ForgetAsync(IGrainFactory grains, Guid tenantId, Guid id);

    public abstract long Bytes(TDetails record);

    /// <summary>One row of <see cref="InsertSql"/>'s and <see cref="UpdateSql"/>'s JSON (the record's columns by name).</summary>
    public abstract Dictionary<string, object?> Row(TDetails record);

    /// <summary>
    /// <c>INSERT … SELECT … FROM jsonb_to_recordset($2)</c>: every new record in one statement; <c>$1</c> is the tenant,
    /// <c>$3</c> the time.
    /// </summary>
    public abstract string InsertSql { get; }

    /// <summary>
    /// <c>UPDATE … FROM jsonb_to_recordset($2)</c> for records still at the version read (<c>version</c> in the JSON is
    /// the read one); <c>$1</c> the tenant, <c>$3</c> the time; returns one row per record changed.
    /// </summary>
    public abstract string UpdateSql { get; }
}

/// <summary>Runs one import: checks every row (rules, references, duplicates), then writes it all in one audited transaction.</summary>
internal sealed class RecordImporter<TFields, TDetails>(
    RecordImport<TFields, TDetails> type, Guid tenantId, TenantDatabase database, IGrainFactory grains, TimeProvider time)
    where TDetails : class, IRecordDetails
{
    private static readonly JsonSerializerOptions RowsJson = new(JsonSerializerDefaults.Web);

    public async Task<Outcome<ImportResult>> RunAsync(ImportRequest<TFields> request, Func<AuditedChange, Task<ChangeResult>> execute)
    {
        if (!ImportDuplicates.All.Contains(request.OnDuplicate))
        {
            return Outcome<ImportResult>.Fail(Failure.Validation, $"onDuplicate must be one of: {string.Join(", ", ImportDuplicates.All)}.");
        }

        var errors = new List<ImportError>(request.ParseErrors);
        var valid = new List<ImportRow<TFields>>(request.Rows.Count);
        var firstRowOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in request.Rows)
        {
            var problems = type.Check(row.Fields);
            foreach (var (column, message) in problems)
            {
                errors.Add(new ImportError(row.Row, column, message));
            }

            if (type.Email(row.Fields)?.ToLowerInvariant() is { } email && !firstRowOf.TryAdd(email, row.Row))
            {
                errors.Add(new ImportError(row.Row, "email", $"This e-mail address is on row {firstRowOf[email]} too; a file names each address once."));
                continue;
            }

            if (problems.Count == 0)
            {
                valid.Add(row);
            }
        }

        var (missing, existing) = await ReadAsync(valid);
        var definitions = type.CustomFieldRecordType is { } recordType
            ? await grains.GetGrain<ICustomFieldsGrain>(GrainKeys.CustomFields(tenantId)).GetAsync(recordType)
            : [];
        var columns = request.Columns.ToHashSet(StringComparer.Ordinal);
        var creates = new List<ImportRow<TFields>>();
        var updates = new List<(ImportRow<TFields> Row, TDetails Existing)>();
        var skipped = 0;
        foreach (var row in valid)
        {
            var broken = type.References(row.Fields).Where(r => missing.Contains(r.Id)).ToList();
            foreach (var (column, table, _) in broken)
            {
                errors.Add(new ImportError(row.Row, column, $"Not one of this tenant's {table}."));
            }

            var matches = type.Email(row.Fields)?.ToLowerInvariant() is { } email && existing.TryGetValue(email, out var found) ? found : [];
            if (broken.Count > 0)
            {
                continue;
            }

            // The values the record would hold, checked against the definitions: a new record's from the file, an updated
            // one's merged (the file's cf.* columns replace those keys); errors named by their column, cf.{key}.
            if (type.CustomFieldRecordType is not null && (matches.Count == 0 || matches.Count == 1 && request.OnDuplicate == ImportDuplicates.Update))
            {
                var values = matches.Count == 0 ? type.CustomFieldsOf(row.Fields)
                    : RecordImport<TFields, TDetails>.MergeCustomFields(type.CustomFieldsOf(matches[0]), type.CustomFieldsOf(row.Fields), columns);
                var problems = new Dictionary<string, string>(StringComparer.Ordinal);
                using var document = JsonDocument.Parse(values);
                CustomFieldRules.Canonicalize(document.RootElement, definitions, problems, "cf");
                if (problems.Count > 0)
                {
                    errors.AddRange(problems.Select(p => new ImportError(row.Row, p.Key, p.Value)));
                    continue;
                }
            }

            if (matches.Count == 0)
            {
                creates.Add(row);
            }
            else if (request.OnDuplicate == ImportDuplicates.Skip)
            {
                skipped++;
            }
            else if (request.OnDuplicate == ImportDuplicates.Error)
            {
                errors.Add(new ImportError(row.Row, "email", $"A {type.Type.Name} with this e-mail address exists (onDuplicate=skip or update to import it anyway)."));
            }
            else if (matches.Count > 1)
            {
                errors.Add(new ImportError(row.Row, "email", $"{matches.Count} {type.Records} have this e-mail address; update them one by one."));
            }
            else
            {
                updates.Add((row, matches[0]));
            }
        }

        errors.Sort((a, b) => a.Row != b.Row ? a.Row.CompareTo(b.Row) : string.CompareOrdinal(a.Column, b.Column));
        var result = new ImportResult(null, type.Records, request.DryRun, request.FileRows, creates.Count, updates.Count, skipped, errors.Count,
            errors.Take(ImportLimits.ReportedErrors).ToList());
        if (request.DryRun || errors.Count > 0)
        {
            return Outcome<ImportResult>.Ok(result);
        }

        return await WriteAsync(request, result, creates, updates, definitions, execute);
    }

    /// <summary>The referenced ids that are not the tenant's, and the tenant's records by e-mail: one round trip.</summary>
    private async Task<(HashSet<Guid> Missing, Dictionary<string, List<TDetails>> Existing)> ReadAsync(List<ImportRow<TFields>> rows)
    {
        var references = rows.SelectMany(r => type.References(r.Fields)).GroupBy(r => r.Table).ToDictionary(g => g.Key, g => g.Select(r => r.Id).Distinct().ToArray());
        var emails = rows.Select(r => type.Email(r.Fields)?.ToLowerInvariant()).OfType<string>().Distinct().ToArray();
        var statements = new List<NpgsqlBatchCommand>
        {
            TenantDatabase.Statement($"SELECT {type.Type.Columns} FROM {type.Type.Table} WHERE lower(email) = ANY($1)", [emails]),
        };
        statements.AddRange(references.Select(r => TenantDatabase.Statement($"SELECT id FROM {r.Key} WHERE id = ANY($1)", [r.Value])));
        return await database.ReadAsync(tenantId, [.. statements], async reader =>
        {
            var existing = new Dictionary<string, List<TDetails>>(StringComparer.Ordinal);
            while (await reader.ReadAsync())
            {
                var record = (TDetails)type.Type.Read(reader);
                var key = type.Email(record)!.ToLowerInvariant();
                (existing.TryGetValue(key, out var list) ? list : existing[key] = []).Add(record);
            }

            var missing = new HashSet<Guid>(references.Values.SelectMany(ids => ids));
            foreach (var _ in references)
            {
                await reader.NextResultAsync();
                while (await reader.ReadAsync())
                {
                    missing.Remove(reader.GetGuid(0));
                }
            }

            return (missing, existing);
        });
    }

    private async Task<Outcome<ImportResult>> WriteAsync(
        ImportRequest<TFields> request, ImportResult result, List<ImportRow<TFields>> creates, List<(ImportRow<TFields> Row, TDetails Existing)> updates,
        IReadOnlyList<CustomFieldDefinition> definitions, Func<AuditedChange, Task<ChangeResult>> execute)
    {
        var importId = Guid.NewGuid();
        var now = time.Now();
        var columns = request.Columns.ToHashSet(StringComparer.Ordinal);
        var created = creates.Select(r => type.Create(Guid.NewGuid(), r.Fields, now)).ToList();
        var updated = updates.Select(u => (Before: u.Existing, After: type.Merge(u.Existing, u.Row.Fields, columns, now))).ToList();
        var statements = new List<SqlStatement>();
        // The definitions the values rely on, locked in the import's transaction (a replacement meanwhile refuses it).
        if (type.CustomFieldRecordType is { } recordType
            && CustomFieldGuard.For(tenantId, recordType, definitions, created.Select(type.CustomFieldsOf).Concat(updated.Select(u => type.CustomFieldsOf(u.After)))) is { } guard)
        {
            statements.Add(guard);
        }

        if (created.Count > 0)
        {
            statements.Add(AuditExtensions.Sql(type.InsertSql, tenantId, Json(created.Select(type.Row)), now));
        }

        if (updated.Count > 0)
        {
            // The rows at the versions read: one changed since refuses the whole import (nothing is written).
            statements.Add(AuditExtensions.Sql(
                $"""
                WITH changed AS ({type.UpdateSql})
                SELECT expect_rows_changed(CASE WHEN (SELECT count(*) FROM changed) = $4 THEN 1 ELSE 0 END, '{type.Type.VersionConflict}')
                """,
                tenantId, Json(updated.Select(u => type.Row(u.After) is var row ? row.With("version", u.Before.Version) : null)), now, (long)updated.Count));
        }

        var id = importId.ToString("D");
        var entries = new List<AuditDraft>(created.Count + updated.Count + 1);
        entries.AddRange(created.Select(c => new AuditDraft($"{type.Type.Name}.created", type.Type.Name, c.Id.ToString("D"),
            Details: AuditChain.Details(type.Snapshot(c).With("import", id)))));
        entries.AddRange(updated.Select(u => new AuditDraft($"{type.Type.Name}.updated", type.Type.Name, u.After.Id.ToString("D"),
            Details: AuditChain.Details(new { version = u.After.Version, changes = AuditChain.Changes(type.Snapshot(u.Before), type.Snapshot(u.After)), import = id }))));
        var summary = result with { Id = importId, At = now };
        entries.Add(new AuditDraft($"{type.Records}.imported", "import", id, Details: AuditChain.Details(new
        {
            records = type.Records,
            rows = summary.Rows,
            created = summary.Created,
            updated = summary.Updated,
            skipped = summary.Skipped,
            onDuplicate = request.OnDuplicate,
            columns = request.Columns,
        })));
        var growth = new QuotaDelta(type.CountedRecords * created.Count, 0, created.Sum(type.Bytes) + updated.Sum(u => type.Bytes(u.After) - type.Bytes(u.Before)));

        var outcome = await execute(AuditExtensions.Change([.. statements], growth, [.. entries]));
        if (outcome.QuotaRefusal is { } refused)
        {
            var asked = refused.Quota == QuotaNames.Customers ? growth.Customers : growth.StorageBytes;
            return Outcome<ImportResult>.QuotaExceeded(refused) with
            {
                Detail = $"The import would exceed the {refused.Quota} quota by {refused.Used + asked - refused.Limit} ({refused.Used} of {refused.Limit} used, the import adds {asked}). Nothing was imported.",
            };
        }

        if (outcome.Constraint == CustomFieldGuard.Changed)
        {
            return Outcome<ImportResult>.Fail(Failure.Conflict, $"{CustomFieldGuard.ChangedMessage} Nothing was imported.");
        }

        if (!outcome.Committed)
        {
            return outcome.Constraint == type.Type.VersionConflict || outcome.SqlState == PostgresErrorCodes.ForeignKeyViolation
                ? Outcome<ImportResult>.Fail(Failure.Conflict, $"Some {type.Records} changed while the file was imported; nothing was imported. Run it again.")
                : throw new InvalidOperationException($"The import was refused by the database ({outcome.SqlState}).");
        }

        // The records changed under their grains: an activation still holding the old row would serve (and write over) it.
        foreach (var chunk in updated.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(u => type.ForgetAsync(grains, tenantId, u.After.Id)));
        }

        return Outcome<ImportResult>.Ok(summary);
    }

    private static string Json(IEnumerable<Dictionary<string, object?>?> rows) => JsonSerializer.Serialize(rows, RowsJson);
}

internal static class SnapshotExtensions
{
    /// <summary>A copy with one more entry (an audit entry's snapshot with the import's id).</summary>
    public static Dictionary<string, object?> With(this Dictionary<string, object?> values, string key, object? value) =>
        new(values, StringComparer.Ordinal) { [key] = value };
}
