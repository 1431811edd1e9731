using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Deals;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Records;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Deals;

/// <summary>
/// The single writer of one deal's row and its contact links (<see cref="RecordGrain{TDetails, TFields}"/>): fields,
/// rules and SQL. The stage comes from the tenant's pipeline (its first open stage by default) and the status is the
/// stage's kind; <c>closedAt</c> is set when the deal enters a won or lost stage and cleared when it reopens.
/// </summary>
[GrainType("deal")]
public sealed class DealGrain(TenantDatabase database, TimeProvider time, IOptions<BenchmarkOptions> benchmark, CallerSigner signer)
    : RecordGrain<DealDetails, DealFields>(database, time, benchmark, signer), IDealGrain
{
    // contact_ids is the row's copy of its links (sql/0180), in PostgreSQL's uuid order, the ordinal order of their text (see SortedContacts).
    internal const string Columns =
        "id, name, customer_id, contact_ids, amount, currency, stage_id, status, expected_close_date, owner_user_id, closed_at, created_at, updated_at, version, "
        + "custom_fields::text";

    internal const string CustomerForeignKey = "deals_customer_fkey";

    internal const string StageForeignKey = "deals_stage_fkey";

    /// <summary>What refuses removing a contact that is still on a deal (sql/0180).</summary>
    internal const string ContactForeignKey = "deal_contacts_contact_fkey";

    private const string NoSuchStage = "stageId is not a stage of this tenant's pipeline.";

    internal static readonly RecordType Record = new("deal", "deals", Columns, Read, new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [CustomerForeignKey] = "customerId is not a customer of this tenant.",
        [StageForeignKey] = NoSuchStage,
        ["deals_owner_fkey"] = "ownerUserId is not a user of this tenant.",
        [ContactForeignKey] = "contactIds names a contact that is not one of this tenant's.",
    });

    protected override RecordType Type => Record;

    protected override string? FirstError(DealFields fields) => DealRules.FirstError(fields);

    private protected override string? CustomFieldRecordType => CustomFieldRecordTypes.Deals;

    private protected override string CustomFieldsOf(DealFields fields) => fields.CustomFields;

    private protected override string StoredCustomFields(DealDetails record) => record.CustomFields;

    private protected override async Task<Outcome<DealFields>> ResolveAsync(DealFields fields)
    {
        var stages = await GrainFactory.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(TenantId)).StagesAsync();
        var stage = fields.StageId is { } id ? stages.FirstOrDefault(s => s.Id == id) : stages.FirstOrDefault(s => s.Kind == DealStatuses.Open);
        return stage is null
            ? Outcome<DealFields>.Fail(Failure.Validation, NoSuchStage)
            : Outcome<DealFields>.Ok(fields with
            {
                StageId = stage.Id, Status = stage.Kind, ContactIds = SortedContacts(fields.ContactIds),
                // 1.50000 is 1.5 with five decimals: the same value at the column's scale (scale(amount) <= 4), not a 500.
                Amount = decimal.Round(fields.Amount, DealRules.MaxDecimals),
            });
    }

    private protected override (string Constraint, string Column)? Activities => (Shohayota.Grains.Activities.ActivityGrain.DealForeignKey, "deal_id");

    private protected override Task ChangedAsync() => GrainFactory.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(TenantId)).DealsChangedAsync();

    /// <summary>Contact ids in the order the row's ARRAY(…) returns them: PostgreSQL compares uuids byte by byte, as their text does.</summary>
    internal static IReadOnlyList<Guid> SortedContacts(IReadOnlyList<Guid> ids) =>
        ids.Count < 2 ? ids : ids.OrderBy(id => id.ToString("D"), StringComparer.Ordinal).ToArray();

    protected override DealDetails ToDetails(DealFields f, DateTimeOffset createdAt, DateTimeOffset updatedAt, int version)
    {
        var status = f.Status ?? DealStatuses.Open;
        var closedAt = status == DealStatuses.Open ? (DateTimeOffset?)null
            : Held is { } before && before.Status == status ? before.ClosedAt : updatedAt;
        return new(Id, f.Name, f.CustomerId, f.ContactIds, f.Amount, f.Currency, f.StageId ?? Guid.Empty, status, f.ExpectedCloseDate, f.OwnerUserId,
            closedAt, createdAt, updatedAt, version, f.CustomFields);
    }

    protected override long Bytes(DealDetails d) => StoredBytes(d);

    internal static long StoredBytes(DealDetails d) => TenantMeter.DealBytes(d.Name, d.ContactIds.Count, d.CustomFields);

    protected override Dictionary<string, object?> Snapshot(DealDetails d) => SnapshotOf(d);

    /// <summary>The fields an audit entry records (the closing time is the entry's own).</summary>
    internal static Dictionary<string, object?> SnapshotOf(DealDetails d) => new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["name"] = d.Name,
        ["customerId"] = d.CustomerId,
        ["contactIds"] = d.ContactIds.Select(id => id.ToString("D")).ToArray(),
        ["amount"] = d.Amount,
        ["currency"] = d.Currency,
        ["stageId"] = d.StageId,
        ["status"] = d.Status,
        ["expectedCloseDate"] = d.ExpectedCloseDate,
        ["ownerUserId"] = d.OwnerUserId,
    }.WithCustomFields(d.CustomFields);

    public async Task<Outcome<DealDetails>> MoveToStageAsync(Guid stageId, int? expectedVersion)
    {
        // Read first: a cold grain (after a pipeline change moved the deal) must also see that the deal is already there.
        if (await CurrentAsync() is { } held && held.StageId == stageId && (expectedVersion is null || expectedVersion == held.Version))
        {
            return Outcome<DealDetails>.Ok(held);
        }

        return await ChangeAsync(current => FieldsOf(current) with { StageId = stageId }, expectedVersion, "deal.stage_changed",
            (before, after, _, version) => new { version, from = before.StageId, to = after.StageId, fromStatus = before.Status, toStatus = after.Status });
    }

    private static DealFields FieldsOf(DealDetails d) =>
        new(d.Name, d.CustomerId, d.ContactIds, d.Amount, d.Currency, d.StageId, d.ExpectedCloseDate, d.OwnerUserId, d.Status, d.CustomFields);

    private protected override SqlStatement Insert(DealDetails d) => AuditExtensions.Sql(
        """
        WITH deal AS (
            INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, expected_close_date, owner_user_id, closed_at,
                               contact_ids, created_at, updated_at, version, custom_fields)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12, $12, 1, $14::jsonb)
            RETURNING id)
        INSERT INTO deal_contacts (tenant_id, deal_id, contact_id)
        SELECT $1, deal.id, c FROM deal, unnest($13::uuid[]) AS c
        """,
        TenantId, Id, d.Name, d.CustomerId, d.Amount, d.Currency, d.StageId, d.Status, d.ExpectedCloseDate, d.OwnerUserId, d.ClosedAt, d.CreatedAt,
        d.ContactIds.ToArray(), d.CustomFields);

    private protected override SqlStatement Update(DealDetails d, int readVersion) => AuditExtensions.Sql(
        $"""
        WITH changed AS (
            UPDATE deals SET name = $3, customer_id = $4, amount = $5, currency = $6, stage_id = $7, status = $8, expected_close_date = $9,
                owner_user_id = $10, closed_at = $11, updated_at = $12, version = $13, contact_ids = $15, custom_fields = $16::jsonb
            WHERE tenant_id = $1 AND id = $2 AND version = $14
            RETURNING 1),
        unlinked AS (
            DELETE FROM deal_contacts WHERE tenant_id = $1 AND deal_id = $2 AND NOT (contact_id = ANY($15::uuid[]))),
        linked AS (
            INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) SELECT $1, $2, c FROM unnest($15::uuid[]) AS c ON CONFLICT DO NOTHING)
        SELECT expect_rows_changed((SELECT count(*) FROM changed), '{Record.VersionConflict}')
        """,
        TenantId, Id, d.Name, d.CustomerId, d.Amount, d.Currency, d.StageId, d.Status, d.ExpectedCloseDate, d.OwnerUserId, d.ClosedAt, d.UpdatedAt,
        d.Version, readVersion, d.ContactIds.ToArray(), d.CustomFields);

    protected override object DeletedDetails(DealDetails d) => new { name = d.Name, version = d.Version, customerId = d.CustomerId };

    internal static DealDetails Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.GetString(1),
        r.GetGuid(2),
        r.GetFieldValue<Guid[]>(3),
        r.GetDecimal(4),
        r.GetString(5),
        r.GetGuid(6),
        r.GetString(7),
        r.IsDBNull(8) ? null : r.GetFieldValue<DateOnly>(8),
        r.IsDBNull(9) ? null : r.GetGuid(9),
        r.IsDBNull(10) ? null : r.GetFieldValue<DateTimeOffset>(10),
        r.GetFieldValue<DateTimeOffset>(11),
        r.GetFieldValue<DateTimeOffset>(12),
        r.GetInt32(13),
        CustomFieldRules.Canonical(r.GetString(14)));
}
