using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Activities;
using Shohayota.Grains.Audit;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Records;

/// <summary>
/// The single writer of one CRM record's row, whatever its type: a record type is its <see cref="RecordType"/> (table,
/// columns, constraint names) and the few members below (rules, SQL, snapshot). Every change is one transaction through
/// the tenant's audit writer, with its entry and its quota delta; memory is updated only after it commits, so the
/// grain's view and the table never diverge. The row is read on first need, not on activation: a create of a new id
/// reads nothing (an existing row makes its insert fail on the primary key, and is read then).
/// </summary>
public abstract class RecordGrain<TDetails, TFields>(TenantDatabase database, TimeProvider time, IOptions<BenchmarkOptions> benchmark, CallerSigner signer)
    : Grain
    where TDetails : class, IRecordDetails
    where TFields : class
{
    // Benchmark-only switch (bench S8): measures what the audit log costs. Never turn it on in production.
    private readonly bool _auditOff = benchmark.Value.AuditOff;

    private TDetails? _record;
    private bool _loaded;
    private Task? _loading;

    protected Guid TenantId { get; private set; }

    protected Guid Id { get; private set; }

    protected TimeProvider Time => time;

    protected TenantDatabase Database => database;

    /// <summary>What this grain writes: the table, its columns and the names of its constraints.</summary>
    protected abstract RecordType Type { get; }

    /// <summary>The first rule the fields break, or null; the grain never trusts its caller to have checked.</summary>
    protected abstract string? FirstError(TFields fields);

    protected abstract TDetails ToDetails(TFields fields, DateTimeOffset createdAt, DateTimeOffset updatedAt, int version);

    /// <summary>The fields an audit entry records (created: all of them; updated: the changed ones).</summary>
    protected abstract Dictionary<string, object?> Snapshot(TDetails record);

    /// <summary>The bytes the record counts against the tenant's storage quota.</summary>
    protected abstract long Bytes(TDetails record);

    /// <summary>How many of a counted quota (customers) one record uses: 0 for types only storage counts.</summary>
    protected virtual long CountedRecords => 0;

    /// <summary>The INSERT of a new record at version 1.</summary>
    private protected abstract SqlStatement Insert(TDetails created);

    /// <summary>The UPDATE that sets <paramref name="updated"/>'s fields; it must carry <c>$1 = tenant, $2 = id</c> as the helper below does.</summary>
    private protected abstract SqlStatement Update(TDetails updated, int readVersion);

    /// <summary>What the audit entry of a deletion records besides the version.</summary>
    protected abstract object DeletedDetails(TDetails record);

    /// <summary>
    /// The foreign key of <c>activities</c> that refers to this type's records and its column (a contact's, a deal's), or
    /// null: removing a record that still has activities is refused with their count.
    /// </summary>
    private protected virtual (string Constraint, string Column)? Activities => null;

    /// <summary>The type's custom fields (one of <see cref="CustomFieldRecordTypes"/>), or null for a type without (activities).</summary>
    private protected virtual string? CustomFieldRecordType => null;

    /// <summary>The canonical custom field values of <paramref name="fields"/> (<c>{}</c> for a type without).</summary>
    private protected virtual string CustomFieldsOf(TFields fields) => CustomFieldRules.Empty;

    /// <summary>The canonical custom field values a record holds.</summary>
    private protected virtual string StoredCustomFields(TDetails record) => CustomFieldRules.Empty;

    /// <summary>A committed-nothing refusal for a constraint of the type's own (a foreign key, say) or null to treat it as a fault.</summary>
    private protected virtual string? RefusalFor(ChangeResult result) => null;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (TenantId, Id) = GrainKeys.Split(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <summary>The row, in one round trip (the tenant setting and the select as one batch).</summary>
    protected async Task LoadAsync()
    {
        _record = await database.ReadAsync(
            TenantId,
            TenantDatabase.Statement($"SELECT {Type.Columns} FROM {Type.Table} WHERE id = $1", Id),
            async reader => await reader.ReadAsync() ? Type.Read(reader) as TDetails : null);
        _loaded = true;
    }

    /// <summary>
    /// The first read of a cold grain loads the row; reads are interleaved (<c>[ReadOnly]</c>), so the ones that arrive
    /// while it loads wait for that same load instead of each reading the row again. No write runs meanwhile.
    /// </summary>
    protected async Task<TDetails?> CurrentAsync()
    {
        if (!_loaded)
        {
            var loading = _loading ??= LoadAsync();
            try
            {
                await loading;
            }
            finally
            {
                if (ReferenceEquals(_loading, loading))
                {
                    _loading = null;
                }
            }
        }

        return _record;
    }

    public Task<TDetails?> GetAsync() => _loaded ? Task.FromResult(_record) : CurrentAsync();

    public Task ForgetAsync()
    {
        (_record, _loaded) = (null, true);
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task<Outcome<TDetails>> CreateAsync(TFields fields)
    {
        if (_loaded && _record is not null)
        {
            return AlreadyExists();
        }

        if (FirstError(fields) is { } invalid)
        {
            return Outcome<TDetails>.Fail(Failure.Validation, invalid);
        }

        var resolved = await ResolveAsync(fields);
        if (!resolved.Succeeded)
        {
            return resolved.As<TDetails>();
        }

        fields = resolved.Value!;
        var customFields = await CheckCustomFieldsAsync(CustomFieldsOf(fields), null);
        if (!customFields.Succeeded)
        {
            return customFields.As<TDetails>();
        }

        var now = time.Now();
        var created = ToDetails(fields, now, now, 1);
        return await WriteAsync(created, new QuotaDelta(CountedRecords, 0, Bytes(created)), AuditChain.Details(Snapshot(created)),
            [.. customFields.Value!, Insert(created)], $"{Type.Name}.created");
    }

    public async Task<Outcome<TDetails>> CreateOnceAsync(TFields fields)
    {
        if (!_loaded && FirstError(fields) is not null)
        {
            // A retry with fields that are invalid now may still name the record its first request created.
            await LoadAsync();
        }

        var outcome = _loaded && _record is not null ? AlreadyExists() : await CreateAsync(fields);
        if (outcome.Failure != Failure.Conflict || _record is not { } existing)
        {
            return outcome;
        }

        var resolved = await ResolveAsync(fields);
        return resolved.Succeeded && Same(existing, resolved.Value!) ? Outcome<TDetails>.Ok(existing)
            : Outcome<TDetails>.Fail(Failure.IdempotencyMismatch,
                $"This Idempotency-Key already created a {Type.Name} with other fields (or that {Type.Name} has changed since).");
    }

    /// <summary>Whether <paramref name="record"/> holds exactly <paramref name="fields"/> (a retried idempotent create).</summary>
    private bool Same(TDetails record, TFields fields)
    {
        var asCreated = Snapshot(ToDetails(fields, record.CreatedAt, record.CreatedAt, record.Version));
        var now = Snapshot(record);
        return asCreated.Count == now.Count && asCreated.All(p => now.TryGetValue(p.Key, out var v) && SameValue(p.Value, v));
    }

    private static bool SameValue(object? a, object? b) =>
        a is IEnumerable<string> x && b is IEnumerable<string> y ? x.SequenceEqual(y) : Equals(a, b);

    private Outcome<TDetails> AlreadyExists() => Outcome<TDetails>.Fail(Failure.Conflict, $"This {Type.Name} already exists.");

    private Outcome<T> Missing<T>() => Outcome<T>.Fail(Failure.NotFound, $"No such {Type.Name}.");

    public Task<Outcome<TDetails>> UpdateAsync(TFields fields, int? expectedVersion) =>
        ChangeAsync(_ => fields, expectedVersion, $"{Type.Name}.updated", (_, _, changes, version) => new { version, changes });

    /// <summary>
    /// Fields that other records complete before they are written (a deal's stage: the pipeline's default and its kind);
    /// runs after the rules, and a failure refuses the write.
    /// </summary>
    private protected virtual Task<Outcome<TFields>> ResolveAsync(TFields fields) => Task.FromResult(Outcome<TFields>.Ok(fields));

    /// <summary>Runs after every committed change of the row (a deal tells its pipeline that the totals changed).</summary>
    private protected virtual Task ChangedAsync() => Task.CompletedTask;

    /// <summary>The record as this grain holds it (during a write, the version before it).</summary>
    protected TDetails? Held => _record;

    /// <summary>
    /// A change of the current record to the fields <paramref name="change"/> makes of it, audited as
    /// <paramref name="action"/> with the details <paramref name="details"/> makes of (before, after, changed fields, version).
    /// </summary>
    private protected async Task<Outcome<TDetails>> ChangeAsync(
        Func<TDetails, TFields> change, int? expectedVersion, string action, Func<TDetails, TDetails, Dictionary<string, object?>, int, object> details)
    {
        if (await CurrentAsync() is not { } current)
        {
            return Missing<TDetails>();
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return Outcome<TDetails>.Fail(Failure.PreconditionFailed,
                $"The {Type.Name} has changed (version {current.Version}, you sent {expected}); reload it and apply your change again.");
        }

        var fields = change(current);
        if (FirstError(fields) is { } invalid)
        {
            return Outcome<TDetails>.Fail(Failure.Validation, invalid);
        }

        var resolved = await ResolveAsync(fields);
        if (!resolved.Succeeded)
        {
            return resolved.As<TDetails>();
        }

        var customFields = await CheckCustomFieldsAsync(CustomFieldsOf(resolved.Value!), StoredCustomFields(current));
        if (!customFields.Succeeded)
        {
            return customFields.As<TDetails>();
        }

        var updated = ToDetails(resolved.Value!, current.CreatedAt, time.Now(), current.Version + 1);
        var changes = AuditChain.Changes(Snapshot(current), Snapshot(updated));
        // Only the version this grain read may be replaced: another writer of the row (a duplicate activation) makes it a conflict.
        return await WriteAsync(updated, new QuotaDelta(0, 0, Bytes(updated) - Bytes(current)),
            AuditChain.Details(details(current, updated, changes, updated.Version)), [.. customFields.Value!, Update(updated, current.Version)], action,
            expectedVersion);
    }

    public Task<Outcome<bool>> DeleteAsync(int? expectedVersion) => DeleteAsync(expectedVersion, cascade: false);

    /// <summary>
    /// With <paramref name="cascade"/>, the activities linked to this record go with it: exactly the ones read, at the
    /// versions read (one added, changed or removed since refuses the whole delete), one audit entry each, their storage
    /// returned. A type without activities deletes as without cascade.
    /// </summary>
    public virtual async Task<Outcome<bool>> DeleteAsync(int? expectedVersion, bool cascade)
    {
        if (await CurrentAsync() is not { } current)
        {
            return Missing<bool>();
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return Outcome<bool>.Fail(Failure.PreconditionFailed, $"The {Type.Name} has changed (version {current.Version}, you sent {expected}).");
        }

        if (!cascade || Activities is not { } link)
        {
            return await DeleteAsync(current, expectedVersion, [], [], new QuotaDelta(-CountedRecords, 0, -Bytes(current)));
        }

        var activities = await database.ReadAsync(
            TenantId,
            TenantDatabase.Statement($"SELECT {ActivityGrain.Columns} FROM activities WHERE {link.Column} = $1", Id),
            async reader =>
            {
                var rows = new List<ActivityDetails>();
                while (await reader.ReadAsync())
                {
                    rows.Add(ActivityGrain.Read(reader));
                }

                return rows;
            });
        var entries = activities.Select(a => new AuditDraft("activity.deleted", ActivityGrain.Record.Name, a.Id.ToString("D"),
                Details: AuditChain.Details(new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["type"] = a.Type, ["subject"] = a.Subject, ["version"] = a.Version, [$"{Type.Name}Id"] = Id, ["cascade"] = true,
                })))
            .ToArray();
        var freed = Bytes(current) + activities.Sum(ActivityGrain.StoredBytes);
        var outcome = await DeleteAsync(current, expectedVersion, RemoveExactly("activities", activities.Select(a => (a.Id, a.Version)).ToArray()), entries,
            new QuotaDelta(-CountedRecords, 0, -freed));
        if (outcome.Succeeded)
        {
            await ForgetAllAsync(activities, a => GrainFactory.GetGrain<IActivityGrain>(GrainKeys.Activity(TenantId, a.Id)).ForgetAsync());
        }

        return outcome;
    }

    /// <summary>What refuses a cascade whose rows changed between the grain's read and the delete.</summary>
    private protected string CascadeChanged => $"{Type.Table}_cascade";

    /// <summary>Deletes exactly these rows of <paramref name="table"/> at these versions, or refuses the transaction (<see cref="CascadeChanged"/>).</summary>
    private protected SqlStatement[] RemoveExactly(string table, (Guid Id, int Version)[] rows) => rows.Length == 0 ? [] :
    [
        AuditExtensions.Sql(
            $"""
            WITH removed AS (
                DELETE FROM {table} t USING unnest($2::uuid[], $3::integer[]) AS r(id, version)
                WHERE t.tenant_id = $1 AND t.id = r.id AND t.version = r.version
                RETURNING 1)
            SELECT expect_rows_changed(CASE WHEN (SELECT count(*) FROM removed) = $4 THEN 1 ELSE 0 END, '{CascadeChanged}')
            """,
            TenantId, rows.Select(r => r.Id).ToArray(), rows.Select(r => r.Version).ToArray(), (long)rows.Length),
    ];

    /// <summary>Drops the activations of the records a cascade removed, 64 calls at a time.</summary>
    private protected static async Task ForgetAllAsync<T>(IEnumerable<T> removed, Func<T, Task> forget)
    {
        foreach (var chunk in removed.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(forget));
        }
    }

    /// <summary>
    /// Deletes the row this grain read, with <paramref name="before"/> run first in the same transaction and
    /// <paramref name="entries"/> recorded with it (a cascade's removed records).
    /// </summary>
    private protected async Task<Outcome<bool>> DeleteAsync(TDetails current, int? expectedVersion, SqlStatement[] before, AuditDraft[] entries, QuotaDelta delta)
    {
        var details = DeletedDetails(current);
        var result = await ExecuteAsync(AuditExtensions.Change(
            [.. before, AuditExtensions.Sql(
                $"""
                WITH deleted AS (DELETE FROM {Type.Table} WHERE tenant_id = $1 AND id = $2 AND version = $3 RETURNING 1)
                SELECT expect_rows_changed((SELECT count(*) FROM deleted), '{Type.VersionConflict}')
                """,
                TenantId, Id, current.Version)],
            delta,
            [.. entries, new AuditDraft($"{Type.Name}.deleted", Type.Name, Id.ToString("D"), Details: AuditChain.Details(details))]));
        if (result.Constraint == Type.VersionConflict)
        {
            return await ConflictAsync<bool>(expectedVersion);
        }

        if (!result.Committed)
        {
            if (Activities is { } link && result.Constraint == link.Constraint)
            {
                var count = await database.ReadAsync(
                    TenantId,
                    TenantDatabase.Statement($"SELECT count(*)::integer FROM activities WHERE {link.Column} = $1", Id),
                    async reader => await reader.ReadAsync() ? reader.GetInt32(0) : 0);
                return Outcome<bool>.Fail(Failure.Conflict,
                    $"The {Type.Name} still has {(count == 1 ? "1 activity" : $"{count} activities")}. Delete them first, or delete with ?cascade=true to remove them with it.");
            }

            return RefusalFor(result) is { } refusal ? Outcome<bool>.Fail(Failure.Conflict, refusal)
                : result.Constraint == CascadeChanged ? Outcome<bool>.Fail(Failure.Conflict, $"The {Type.Name}'s activities changed while it was being deleted; reload it and try again.")
                : throw new InvalidOperationException($"Deleting the {Type.Name} was refused by the database ({result.SqlState}).");
        }

        _record = null;
        DeactivateOnIdle();
        await ChangedAsync();
        return Outcome<bool>.Ok(true);
    }

    /// <summary>
    /// Through the tenant's audit log, which reserves the change's growth with its batch and settles it after the commit;
    /// with the benchmark-only switch, the same statements and quota without entries.
    /// </summary>
    private protected Task<ChangeResult> ExecuteAsync(AuditedChange change) =>
        _auditOff ? AuditLogGrain.ExecuteUnauditedAsync(database, GrainFactory, signer, TenantId, change) : GrainFactory.AuditLog(TenantId).ExecuteAsync(change);

    /// <summary>
    /// The custom field values checked against the tenant's current definitions (the grain never trusts its caller to
    /// have checked), and the guard that locks the definitions they use in the write's transaction. Values the record
    /// already holds unchanged (<paramref name="held"/>) are not checked again: no replacement strands them, and a field
    /// made required since must not block a change of other fields (a deal's stage move).
    /// </summary>
    private async Task<Outcome<SqlStatement[]>> CheckCustomFieldsAsync(string values, string? held)
    {
        if (CustomFieldRecordType is not { } recordType || values == held)
        {
            return Outcome<SqlStatement[]>.Ok([]);
        }

        var definitions = await GrainFactory.GetGrain<ICustomFieldsGrain>(GrainKeys.CustomFields(TenantId)).GetAsync(recordType);
        if (CustomFieldRules.Check(values, definitions) is { } invalid)
        {
            return Outcome<SqlStatement[]>.Fail(Failure.Validation, invalid);
        }

        return Outcome<SqlStatement[]>.Ok(CustomFieldGuard.For(TenantId, recordType, definitions, [values]) is { } guard ? [guard] : []);
    }

    private async Task<Outcome<TDetails>> WriteAsync(TDetails next, QuotaDelta delta, string? details, SqlStatement[] writes, string action, int? expectedVersion = null)
    {
        var result = await ExecuteAsync(AuditExtensions.Change(writes, delta, new AuditDraft(action, Type.Name, Id.ToString("D"), Details: details)));
        if (result.Constraint == CustomFieldGuard.Changed)
        {
            return Outcome<TDetails>.Fail(Failure.Conflict, CustomFieldGuard.ChangedMessage);
        }

        if (result.QuotaRefusal is { } refused)
        {
            if (!_loaded)
            {
                // A create on a fresh activation did not read the row: at the limit, a retry of a create that already
                // happened (Idempotency-Key) is refused by the quota before the insert could conflict. It exists: say so.
                await LoadAsync();
                if (_record is not null)
                {
                    return AlreadyExists();
                }
            }

            return Outcome<TDetails>.QuotaExceeded(refused);
        }

        if (result.Constraint == Type.PrimaryKey)
        {
            await LoadAsync();
            return AlreadyExists();
        }

        if (result.Constraint == Type.VersionConflict)
        {
            return await ConflictAsync<TDetails>(expectedVersion);
        }

        if (!result.Committed)
        {
            return Type.ForeignKeys.TryGetValue(result.Constraint ?? "", out var field)
                ? Outcome<TDetails>.Fail(Failure.Validation, field)
                : throw new InvalidOperationException($"The {Type.Name} change was refused by the database ({result.SqlState}).");
        }

        (_record, _loaded) = (next, true);
        await ChangedAsync();
        return Outcome<TDetails>.Ok(next);
    }

    /// <summary>
    /// The row was changed by another writer since this grain read it: nothing was written or audited. Reload, so this
    /// activation stops serving (and writing over) the stale version, and tell the client to reload too.
    /// </summary>
    private async Task<Outcome<T>> ConflictAsync<T>(int? expectedVersion)
    {
        await LoadAsync();
        var now = _record is null ? "it has been deleted" : $"it is at version {_record.Version} now";
        return expectedVersion is null
            ? Outcome<T>.Fail(Failure.Conflict, $"The {Type.Name} was changed by another request at the same time ({now}); reload it and apply your change again.")
            : Outcome<T>.Fail(Failure.PreconditionFailed, $"The {Type.Name} has changed ({now}, you sent {expectedVersion}); reload it and apply your change again.");
    }
}

/// <summary>
/// A CRM record type as the shared machinery sees it: where its rows live, how a row is read, the names of the
/// constraints whose refusals mean something to a client. Export, restore, purge and the storage quota read the same.
/// </summary>
public sealed record RecordType(
    string Name,
    string Table,
    string Columns,
    Func<NpgsqlDataReader, object> Read,
    IReadOnlyDictionary<string, string> ForeignKeys)
{
    /// <summary>The refusal <c>expect_rows_changed</c> (sql/0095) reports when the row no longer has the version the grain holds.</summary>
    public string VersionConflict => $"{Table}_version";

    public string PrimaryKey => $"{Table}_pkey";
}
