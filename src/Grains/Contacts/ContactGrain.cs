using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Records;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Contacts;

/// <summary>The single writer of one contact's row (<see cref="RecordGrain{TDetails, TFields}"/>): fields, rules and SQL.</summary>
[GrainType("contact")]
public sealed class ContactGrain(TenantDatabase database, TimeProvider time, IOptions<BenchmarkOptions> benchmark, CallerSigner signer)
    : RecordGrain<ContactDetails, ContactFields>(database, time, benchmark, signer), IContactGrain
{
    internal const string Columns =
        "id, first_name, last_name, email, phone, title, customer_id, owner_user_id, tags, notes, created_at, updated_at, version, custom_fields::text";

    /// <summary>The foreign key that keeps a contact's customer the tenant's own (sql/0170).</summary>
    internal const string CustomerForeignKey = "contacts_customer_fkey";

    internal static readonly RecordType Record = new("contact", "contacts", Columns, Read, new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [CustomerForeignKey] = "customerId is not a customer of this tenant.",
        ["contacts_owner_fkey"] = "ownerUserId is not a user of this tenant.",
    });

    protected override RecordType Type => Record;

    protected override string? FirstError(ContactFields fields) => ContactRules.FirstError(fields);

    private protected override string? CustomFieldRecordType => CustomFieldRecordTypes.Contacts;

    private protected override string CustomFieldsOf(ContactFields fields) => fields.CustomFields;

    private protected override string StoredCustomFields(ContactDetails record) => record.CustomFields;

    protected override ContactDetails ToDetails(ContactFields f, DateTimeOffset createdAt, DateTimeOffset updatedAt, int version) =>
        new(Id, f.FirstName, f.LastName, f.Email, f.Phone, f.Title, f.CustomerId, f.OwnerUserId, f.Tags, f.Notes, createdAt, updatedAt, version, f.CustomFields);

    protected override long Bytes(ContactDetails c) => StoredBytes(c);

    internal static long StoredBytes(ContactDetails c) => TenantMeter.ContactBytes(c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.Tags, c.Notes, c.CustomFields);

    protected override Dictionary<string, object?> Snapshot(ContactDetails c) => SnapshotOf(c);

    /// <summary>The fields an audit entry records, here and in an import.</summary>
    internal static Dictionary<string, object?> SnapshotOf(ContactDetails c) => new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["firstName"] = c.FirstName,
        ["lastName"] = c.LastName,
        ["email"] = c.Email,
        ["phone"] = c.Phone,
        ["title"] = c.Title,
        ["customerId"] = c.CustomerId,
        ["ownerUserId"] = c.OwnerUserId,
        ["tags"] = c.Tags,
        ["notes"] = c.Notes,
    }.WithCustomFields(c.CustomFields);

    private protected override SqlStatement Insert(ContactDetails c) => AuditExtensions.Sql(
        """
        INSERT INTO contacts (tenant_id, id, first_name, last_name, email, phone, title, customer_id, owner_user_id, tags, notes, created_at, updated_at, version,
                              custom_fields)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 1, $13::jsonb)
        """,
        TenantId, Id, c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.CustomerId, c.OwnerUserId, c.Tags.ToArray(), c.Notes, c.CreatedAt, c.CustomFields);

    private protected override SqlStatement Update(ContactDetails c, int readVersion) => AuditExtensions.Sql(
        $"""
        WITH changed AS (
            UPDATE contacts SET first_name = $3, last_name = $4, email = $5, phone = $6, title = $7, customer_id = $8,
                owner_user_id = $9, tags = $10, notes = $11, updated_at = $12, version = $13, custom_fields = $15::jsonb
            WHERE tenant_id = $1 AND id = $2 AND version = $14
            RETURNING 1)
        SELECT expect_rows_changed((SELECT count(*) FROM changed), '{Record.VersionConflict}')
        """,
        TenantId, Id, c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.CustomerId, c.OwnerUserId, c.Tags.ToArray(), c.Notes, c.UpdatedAt, c.Version,
        readVersion, c.CustomFields);

    private protected override (string Constraint, string Column)? Activities => (Shohayota.Grains.Activities.ActivityGrain.ContactForeignKey, "contact_id");

    private protected override string? RefusalFor(ChangeResult result) =>
        result.Constraint == Deals.DealGrain.ContactForeignKey ? "The contact is on one or more deals; remove it from them first." : null;

    protected override object DeletedDetails(ContactDetails c) => new { name = c.DisplayName, version = c.Version, customerId = c.CustomerId };

    internal static ContactDetails Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.IsDBNull(1) ? null : r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetGuid(6),
        r.IsDBNull(7) ? null : r.GetGuid(7),
        r.GetFieldValue<string[]>(8),
        r.IsDBNull(9) ? null : r.GetString(9),
        r.GetFieldValue<DateTimeOffset>(10),
        r.GetFieldValue<DateTimeOffset>(11),
        r.GetInt32(12),
        CustomFieldRules.Canonical(r.GetString(13)));
}
