using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Customers;

/// <summary>Customers as an import writes them (<see cref="RecordImporter{TFields, TDetails}"/>).</summary>
internal sealed class CustomerImport : RecordImport<CustomerFields, CustomerDetails>
{
    public static readonly CustomerImport Instance = new();

    public override string Records => "customers";

    public override RecordType Type => CustomerGrain.Record;

    public override long CountedRecords => 1;

    public override Dictionary<string, string> Check(CustomerFields f) => CustomerRules.Check(f.Name, f.Email, f.Phone, f.Company, f.Status, f.Tags, f.Notes);

    public override string? CustomFieldRecordType => CustomFieldRecordTypes.Customers;

    public override string CustomFieldsOf(CustomerFields fields) => fields.CustomFields;

    public override string CustomFieldsOf(CustomerDetails record) => record.CustomFields;

    public override string? Email(CustomerFields fields) => fields.Email;

    public override string? Email(CustomerDetails record) => record.Email;

    public override IEnumerable<(string Column, string Table, Guid Id)> References(CustomerFields f) =>
        f.OwnerUserId is { } owner ? [("ownerUserId", "users", owner)] : [];

    public override CustomerDetails Create(Guid id, CustomerFields f, DateTimeOffset now) =>
        new(id, f.Name, f.Email, f.Phone, f.Company, f.Status, f.Tags, f.Notes, f.OwnerUserId, now, now, 1, CustomFieldRules.Canonical(f.CustomFields));

    public override CustomerDetails Merge(CustomerDetails e, CustomerFields f, IReadOnlySet<string> columns, DateTimeOffset now) => new(
        e.Id,
        columns.Contains("name") ? f.Name : e.Name,
        columns.Contains("email") ? f.Email : e.Email,
        columns.Contains("phone") ? f.Phone : e.Phone,
        columns.Contains("company") ? f.Company : e.Company,
        columns.Contains("status") ? f.Status : e.Status,
        columns.Contains("tags") ? f.Tags : e.Tags,
        columns.Contains("notes") ? f.Notes : e.Notes,
        columns.Contains("ownerUserId") ? f.OwnerUserId : e.OwnerUserId,
        e.CreatedAt,
        now,
        e.Version + 1,
        MergeCustomFields(e.CustomFields, f.CustomFields, columns));

    public override Dictionary<string, object?> Snapshot(CustomerDetails record) => CustomerGrain.SnapshotOf(record);

    public override long Bytes(CustomerDetails record) => CustomerGrain.StoredBytes(record);

    public override Task ForgetAsync(IGrainFactory grains, Guid tenantId, Guid id) =>
        grains.GetGrain<ICustomerGrain>(GrainKeys.Customer(tenantId, id)).ForgetAsync();

    public override Dictionary<string, object?> Row(CustomerDetails c) => new(StringComparer.Ordinal)
    {
        ["id"] = c.Id,
        ["name"] = c.Name,
        ["email"] = c.Email,
        ["phone"] = c.Phone,
        ["company"] = c.Company,
        ["status"] = c.Status,
        ["tags"] = c.Tags,
        ["notes"] = c.Notes,
        ["owner_user_id"] = c.OwnerUserId,
        ["custom_fields"] = c.CustomFields,
    };

    private const string Recordset =
        "jsonb_to_recordset($2::jsonb) AS r(id uuid, name text, email text, phone text, company text, status text, tags text[], notes text, owner_user_id uuid, "
        + "custom_fields text, version integer)";

    public override string InsertSql { get; } =
        $$"""
        INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version,
                               custom_fields)
        SELECT $1, r.id, r.name, r.email, r.phone, r.company, r.status, coalesce(r.tags, '{}'), r.notes, r.owner_user_id, $3, $3, 1,
            coalesce(r.custom_fields, '{}')::jsonb
        FROM {{Recordset}}
        """;

    public override string UpdateSql { get; } =
        $$"""
        UPDATE customers c SET name = r.name, email = r.email, phone = r.phone, company = r.company, status = r.status,
            tags = coalesce(r.tags, '{}'), notes = r.notes, owner_user_id = r.owner_user_id, updated_at = $3, version = r.version + 1,
            custom_fields = coalesce(r.custom_fields, '{}')::jsonb
        FROM {{Recordset}}
        WHERE c.tenant_id = $1 AND c.id = r.id AND c.version = r.version
        RETURNING 1
        """;
}
