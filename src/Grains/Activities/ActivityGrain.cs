using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Records;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Activities;

/// <summary>
/// The single writer of one activity's row (<see cref="RecordGrain{TDetails, TFields}"/>): fields, rules and SQL. The
/// completion time is set when a task, call or meeting becomes done and cleared when it is reopened.
/// </summary>
[GrainType("activity")]
public sealed class ActivityGrain(TenantDatabase database, TimeProvider time, IOptions<BenchmarkOptions> benchmark, CallerSigner signer)
    : RecordGrain<ActivityDetails, ActivityFields>(database, time, benchmark, signer), IActivityGrain
{
    internal const string Columns =
        "id, type, subject, body, due_at, assignee_user_id, customer_id, contact_id, deal_id, completed_at, created_at, updated_at, version";

    internal const string CustomerForeignKey = "activities_customer_fkey";

    /// <summary>What refuses removing a contact that still has activities (sql/0190).</summary>
    internal const string ContactForeignKey = "activities_contact_fkey";

    /// <summary>What refuses removing a deal that still has activities (sql/0190).</summary>
    internal const string DealForeignKey = "activities_deal_fkey";

    internal static readonly RecordType Record = new("activity", "activities", Columns, Read, new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [CustomerForeignKey] = "customerId is not a customer of this tenant.",
        [ContactForeignKey] = "contactId is not a contact of this tenant.",
        [DealForeignKey] = "dealId is not a deal of this tenant.",
        ["activities_assignee_fkey"] = "assigneeUserId is not a user of this tenant.",
    });

    protected override RecordType Type => Record;

    /// <summary>
    /// The condition (on <c>activities</c>) of the activities about a customer: linked to it, or to one of its contacts or
    /// deals, <paramref name="customer"/> naming the parameter that holds it. One definition for the list's
    /// <c>customerId</c> filter, the timeline and a customer's delete; row-level security keeps each subquery to the tenant.
    /// </summary>
    internal static string AboutCustomer(string customer) =>
        $"(customer_id = {customer} OR contact_id IN (SELECT id FROM contacts WHERE customer_id = {customer}) "
        + $"OR deal_id IN (SELECT id FROM deals WHERE customer_id = {customer}))";

    protected override string? FirstError(ActivityFields fields) => ActivityRules.FirstError(fields);

    protected override ActivityDetails ToDetails(ActivityFields f, DateTimeOffset createdAt, DateTimeOffset updatedAt, int version)
    {
        var completedAt = !f.Done ? (DateTimeOffset?)null : Held is { CompletedAt: { } before } ? before : updatedAt;
        return new(Id, f.Type, f.Subject, f.Body, Stored(f.DueAt), f.AssigneeUserId, f.CustomerId, f.ContactId, f.DealId, completedAt, createdAt, updatedAt, version);
    }

    /// <summary>A due time as the column keeps it: UTC, whole microseconds (so the grain's copy and the row agree).</summary>
    internal static DateTimeOffset? Stored(DateTimeOffset? at) =>
        at is { } t ? new DateTimeOffset(t.UtcTicks - t.UtcTicks % 10, TimeSpan.Zero) : null;

    protected override long Bytes(ActivityDetails a) => StoredBytes(a);

    internal static long StoredBytes(ActivityDetails a) => TenantMeter.ActivityBytes(a.Subject, a.Body);

    protected override Dictionary<string, object?> Snapshot(ActivityDetails a) => SnapshotOf(a);

    /// <summary>The fields an audit entry records (the completion time is the entry's own).</summary>
    internal static Dictionary<string, object?> SnapshotOf(ActivityDetails a) => new(StringComparer.Ordinal)
    {
        ["type"] = a.Type,
        ["subject"] = a.Subject,
        ["body"] = a.Body,
        ["dueAt"] = a.DueAt,
        ["assigneeUserId"] = a.AssigneeUserId,
        ["customerId"] = a.CustomerId,
        ["contactId"] = a.ContactId,
        ["dealId"] = a.DealId,
        ["done"] = a.Done,
    };

    public async Task<Outcome<ActivityDetails>> CompleteAsync(bool done, int? expectedVersion)
    {
        if (await CurrentAsync() is { } held && held.Done == done && (expectedVersion is null || expectedVersion == held.Version))
        {
            // Completing a done task again changes nothing (a retried click), nor does reopening an open one.
            return Outcome<ActivityDetails>.Ok(held);
        }

        return await ChangeAsync(current => FieldsOf(current) with { Done = done }, expectedVersion, done ? "activity.completed" : "activity.reopened",
            (_, after, _, version) => new { version, type = after.Type, subject = after.Subject, completedAt = after.CompletedAt });
    }

    internal static ActivityFields FieldsOf(ActivityDetails a) =>
        new(a.Type, a.Subject, a.Body, a.DueAt, a.AssigneeUserId, a.CustomerId, a.ContactId, a.DealId, a.Done);

    private protected override SqlStatement Insert(ActivityDetails a) => AuditExtensions.Sql(
        """
        INSERT INTO activities (tenant_id, id, type, subject, body, due_at, assignee_user_id, customer_id, contact_id, deal_id, completed_at,
                                created_at, updated_at, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 1)
        """,
        TenantId, Id, a.Type, a.Subject, a.Body, a.DueAt, a.AssigneeUserId, a.CustomerId, a.ContactId, a.DealId, a.CompletedAt, a.CreatedAt);

    private protected override SqlStatement Update(ActivityDetails a, int readVersion) => AuditExtensions.Sql(
        $"""
        WITH changed AS (
            UPDATE activities SET type = $3, subject = $4, body = $5, due_at = $6, assignee_user_id = $7, customer_id = $8, contact_id = $9,
                deal_id = $10, completed_at = $11, updated_at = $12, version = $13
            WHERE tenant_id = $1 AND id = $2 AND version = $14
            RETURNING 1)
        SELECT expect_rows_changed((SELECT count(*) FROM changed), '{Record.VersionConflict}')
        """,
        TenantId, Id, a.Type, a.Subject, a.Body, a.DueAt, a.AssigneeUserId, a.CustomerId, a.ContactId, a.DealId, a.CompletedAt, a.UpdatedAt, a.Version,
        readVersion);

    protected override object DeletedDetails(ActivityDetails a) =>
        new { type = a.Type, subject = a.Subject, version = a.Version, customerId = a.CustomerId, contactId = a.ContactId, dealId = a.DealId };

    internal static ActivityDetails Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.GetString(1),
        r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetFieldValue<DateTimeOffset>(4),
        r.IsDBNull(5) ? null : r.GetGuid(5),
        r.IsDBNull(6) ? null : r.GetGuid(6),
        r.IsDBNull(7) ? null : r.GetGuid(7),
        r.IsDBNull(8) ? null : r.GetGuid(8),
        r.IsDBNull(9) ? null : r.GetFieldValue<DateTimeOffset>(9),
        r.GetFieldValue<DateTimeOffset>(10),
        r.GetFieldValue<DateTimeOffset>(11),
        r.GetInt32(12));
}
