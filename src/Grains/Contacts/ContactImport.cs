using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Contacts;

/// <summary>Contacts as an import writes them (<see cref="RecordImporter{TFields, TDetails}"/>).</summary>
internal sealed class ContactImport : RecordImport<ContactFields, ContactDetails>
{
    public static readonly ContactImport Instance = new();

    public override string Records => "contacts";

    public override RecordType Type => ContactGrain.Record;

    public override Dictionary<string, string> Check(ContactFields f) => ContactRules.Check(f.FirstName, f.LastName, f.Email, f.Phone, f.Title, f.Tags, f.Notes);

    public override string? CustomFieldRecordType => CustomFieldRecordTypes.Contacts;

    public override string CustomFieldsOf(ContactFields fields) => fields.CustomFields;

    public override string CustomFieldsOf(ContactDetails record) => record.CustomFields;

    public override string? Email(ContactFields fields) => fields.Email;

    public override string? Email(ContactDetails record) => record.Email;

    public override IEnumerable<(string Column, string Table, Guid Id)> References(ContactFields f)
    {
        if (f.CustomerId is { } customer)
        {
            yield return ("customerId", "customers", customer);
        }

        if (f.OwnerUserId is { } owner)
        {
            yield return ("ownerUserId", "users", owner);
        }
    }

    public override ContactDetails Create(Guid id, ContactFields f, DateTimeOffset now) =>
        new(id, f.FirstName, f.LastName, f.Email, f.Phone, f.Title, f.CustomerId, f.OwnerUserId, f.Tags, f.Notes, now, now, 1, CustomFieldRules.Canonical(f.CustomFields));

    public override ContactDetails Merge(ContactDetails e, ContactFields f, IReadOnlySet<string> columns, DateTimeOffset now) => new(
        e.Id,
        columns.Contains("firstName") ? f.FirstName : e.FirstName,
        columns.Contains("lastName") ? f.LastName : e.LastName,
        columns.Contains("email") ? f.Email : e.Email,
        columns.Contains("phone") ? f.Phone : e.Phone,
        columns.Contains("title") ? f.Title : e.Title,
        columns.Contains("customerId") ? f.CustomerId : e.CustomerId,
        columns.Contains("ownerUserId") ? f.OwnerUserId : e.OwnerUserId,
        columns.Contains("tags") ? f.Tags : e.Tags,
        columns.Contains("notes") ? f.Notes : e.Notes,
        e.CreatedAt,
        now,
        e.Version + 1,
        MergeCustomFields(e.CustomFields, f.CustomFields, columns));

    public override Dictionary<string, object?> Snapshot(ContactDetails record) => ContactGrain.SnapshotOf(record);

    public override long Bytes(ContactDetails record) => ContactGrain.StoredBytes(record);

    public override Task ForgetAsync(IGrainFactory grains, Guid tenantId, Guid id) =>
        grains.GetGrain<IContactGrain>(GrainKeys.Contact(tenantId, id)).ForgetAsync();

    public override Dictionary<string, object?> Row(ContactDetails c) => new(StringComparer.Ordinal)
    {
        ["id"] = c.Id,
        ["first_name"] = c.FirstName,
        ["last_name"] = c.LastName,
        ["email"] = c.Email,
        ["phone"] = c.Phone,
        ["title"] = c.Title,
        ["customer_id"] = c.CustomerId,
        ["owner_user_id"] = c.OwnerUserId,
        ["tags"] = c.Tags,
        ["notes"] = c.Notes,
        ["custom_fields"] = c.CustomFields,
    };

    private const string Recordset =
        "jsonb_to_recordset($2::jsonb) AS r(id uuid, first_name text, last_name text, email text, phone text, title text, customer_id uuid, owner_user_id uuid, tags text[], notes text, custom_fields text, version integer)";

    public override string InsertSql { get; } =
        $$"""
        INSERT INTO contacts (tenant_id, id, first_name, last_name, email, phone, title, customer_id, owner_user_id, tags, notes, created_at, updated_at, version,
                              custom_fields)
        SELECT $1, r.id, r.first_name, r.last_name, r.email, r.phone, r.title, r.customer_id, r.owner_user_id, coalesce(r.tags, '{}'), r.notes, $3, $3, 1,
            coalesce(r.custom_fields, '{}')::jsonb
        FROM {{Recordset}}
        """;

    public override string UpdateSql { get; } =
        $$"""
        UPDATE contacts c SET first_name = r.first_name, last_name = r.last_name, email = r.email, phone = r.phone, title = r.title,
            customer_id = r.customer_id, owner_user_id = r.owner_user_id, tags = coalesce(r.tags, '{}'), notes = r.notes, updated_at = $3,
            version = r.version + 1, custom_fields = coalesce(r.custom_fields, '{}')::jsonb
        FROM {{Recordset}}
        WHERE c.tenant_id = $1 AND c.id = r.id AND c.version = r.version
        RETURNING 1
        """;
}
