using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Activities;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Contacts;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Deals;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Quotas;
using Shohayota.Grains.Records;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Customers;

/// <summary>
/// The single writer of one customer's row (<see cref="RecordGrain{TDetails, TFields}"/>). A customer is the account
/// the other records hang from: deleting one that still has contacts, deals or activities is refused with their counts, or removes
/// them in the same transaction (<c>cascade</c>) with one audit entry per removed record.
/// </summary>
[GrainType("customer")]
public sealed class CustomerGrain(TenantDatabase database, TimeProvider time, IOptions<BenchmarkOptions> benchmark, CallerSigner signer)
    : RecordGrain<CustomerDetails, CustomerFields>(database, time, benchmark, signer), ICustomerGrain
{
    internal const string Columns = "id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version, custom_fields::text";


    internal static readonly RecordType Record = new("customer", "customers", Columns, Read, new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["customers_tenant_id_owner_user_id_fkey"] = "ownerUserId is not a user of this tenant.",
    });

    protected override RecordType Type => Record;

    protected override long CountedRecords => 1;

    protected override string? FirstError(CustomerFields fields) => CustomerRules.FirstError(fields);

    private protected override string? CustomFieldRecordType => CustomFieldRecordTypes.Customers;

    private protected override string CustomFieldsOf(CustomerFields fields) => fields.CustomFields;

    private protected override string StoredCustomFields(CustomerDetails record) => record.CustomFields;

    protected override CustomerDetails ToDetails(CustomerFields f, DateTimeOffset createdAt, DateTimeOffset updatedAt, int version) =>
        new(Id, f.Name, f.Email, f.Phone, f.Company, f.Status, f.Tags, f.Notes, f.OwnerUserId, createdAt, updatedAt, version, f.CustomFields);

    protected override long Bytes(CustomerDetails c) => StoredBytes(c);

    internal static long StoredBytes(CustomerDetails c) => TenantMeter.CustomerBytes(c.Name, c.Email, c.Phone, c.Company, c.Tags, c.Notes, c.CustomFields);

    protected override Dictionary<string, object?> Snapshot(CustomerDetails c) => SnapshotOf(c);

    /// <summary>The fields an audit entry records, here and in an import (one <c>cf.{key}</c> per custom field value).</summary>
    internal static Dictionary<string, object?> SnapshotOf(CustomerDetails c) => new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["name"] = c.Name,
        ["email"] = c.Email,
        ["phone"] = c.Phone,
        ["company"] = c.Company,
        ["status"] = c.Status,
        ["tags"] = c.Tags,
        ["notes"] = c.Notes,
        ["ownerUserId"] = c.OwnerUserId,
    }.WithCustomFields(c.CustomFields);

    private protected override SqlStatement Insert(CustomerDetails c) => AuditExtensions.Sql(
        """
        INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version, custom_fields)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1, $12::jsonb)
        """,
        TenantId, Id, c.Name, c.Email, c.Phone, c.Company, c.Status, c.Tags.ToArray(), c.Notes, c.OwnerUserId, c.CreatedAt, c.CustomFields);

    private protected override SqlStatement Update(CustomerDetails c, int readVersion) => AuditExtensions.Sql(
        $"""
        WITH changed AS (
            UPDATE customers SET name = $3, email = $4, phone = $5, company = $6, status = $7, tags = $8, notes = $9,
                owner_user_id = $10, updated_at = $11, version = $12, custom_fields = $14::jsonb
            WHERE tenant_id = $1 AND id = $2 AND version = $13
            RETURNING 1)
        SELECT expect_rows_changed((SELECT count(*) FROM changed), '{Record.VersionConflict}')
        """,
        TenantId, Id, c.Name, c.Email, c.Phone, c.Company, c.Status, c.Tags.ToArray(), c.Notes, c.OwnerUserId, c.UpdatedAt, c.Version, readVersion,
        c.CustomFields);

    protected override object DeletedDetails(CustomerDetails c) => new { name = c.Name, version = c.Version };

    private protected override string? RefusalFor(ChangeResult result) => result.Constraint switch
    {
        ContactGrain.CustomerForeignKey or DealGrain.CustomerForeignKey or ActivityGrain.CustomerForeignKey or ActivityGrain.ContactForeignKey
            or ActivityGrain.DealForeignKey =>
            "The customer's contacts, deals or activities changed while it was being deleted; reload it and try again.",
        DealGrain.ContactForeignKey => "A contact of this customer is on another customer's deal; remove it from that deal first.",
        _ when result.Constraint == CascadeChanged => "The customer's contacts, deals or activities changed while it was being deleted; reload it and try again.",
        _ => null,
    };

    public override async Task<Outcome<bool>> DeleteAsync(int? expectedVersion, bool cascade)
    {
        if (await CurrentAsync() is not { } current)
        {
            return Outcome<bool>.Fail(Failure.NotFound, "No such customer.");
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return Outcome<bool>.Fail(Failure.PreconditionFailed, $"The customer has changed (version {current.Version}, you sent {expected}).");
        }

        if (!cascade)
        {
            // The usual delete reads nothing first: a customer that still has contacts, deals or activities is refused by
            // their foreign keys, and only then are they counted for the answer.
            var plain = await DeleteAsync(current, expectedVersion, [], [], new QuotaDelta(-CountedRecords, 0, -Bytes(current)));
            return plain.Failure == Failure.Conflict && await DependentsAsync() is var counts && counts.Any(c => c.Count > 0)
                ? Outcome<bool>.Fail(Failure.Conflict,
                    $"The customer still has {Counts(counts)}. Remove them first, or delete with ?cascade=true to remove them with it.")
                : plain;
        }

        var (contacts, deals, activities) = await Database.ReadAsync(
            TenantId,
            [
                TenantDatabase.Statement($"SELECT {ContactGrain.Columns} FROM contacts WHERE customer_id = $1", Id),
                TenantDatabase.Statement($"SELECT {DealGrain.Columns} FROM deals WHERE customer_id = $1", Id),
                TenantDatabase.Statement($"SELECT {ActivityGrain.Columns} FROM activities WHERE {ActivitiesAbout}", Id),
            ],
            async reader =>
            {
                var contactRows = new List<ContactDetails>();
                while (await reader.ReadAsync())
                {
                    contactRows.Add(ContactGrain.Read(reader));
                }

                await reader.NextResultAsync();
                var dealRows = new List<DealDetails>();
                while (await reader.ReadAsync())
                {
                    dealRows.Add(DealGrain.Read(reader));
                }

                await reader.NextResultAsync();
                var activityRows = new List<ActivityDetails>();
                while (await reader.ReadAsync())
                {
                    activityRows.Add(ActivityGrain.Read(reader));
                }

                return (contactRows, dealRows, activityRows);
            });
        // Exactly the rows read, at the versions read: a contact, deal or activity added, changed or removed since refuses
        // the whole delete. Activities go first (they refer to the others), then deals (their contact links go with
        // them), then the contacts.
        SqlStatement[] before =
        [
            .. RemoveExactly("activities", activities.Select(a => (a.Id, a.Version)).ToArray()),
            .. RemoveExactly("deals", deals.Select(d => (d.Id, d.Version)).ToArray()),
            .. RemoveExactly("contacts", contacts.Select(c => (c.Id, c.Version)).ToArray()),
        ];
        var entries = activities.Select(a => new AuditDraft("activity.deleted", ActivityGrain.Record.Name, a.Id.ToString("D"),
                Details: AuditChain.Details(new { type = a.Type, subject = a.Subject, version = a.Version, customerId = Id, cascade = true })))
            .Concat(deals.Select(d => new AuditDraft("deal.deleted", DealGrain.Record.Name, d.Id.ToString("D"),
                Details: AuditChain.Details(new { name = d.Name, version = d.Version, customerId = Id, cascade = true }))))
            .Concat(contacts.Select(c => new AuditDraft("contact.deleted", ContactGrain.Record.Name, c.Id.ToString("D"),
                Details: AuditChain.Details(new { name = c.DisplayName, version = c.Version, customerId = Id, cascade = true }))))
            .ToArray();
        var freed = Bytes(current) + contacts.Sum(ContactGrain.StoredBytes) + deals.Sum(DealGrain.StoredBytes) + activities.Sum(ActivityGrain.StoredBytes);
        var outcome = await DeleteAsync(current, expectedVersion, before, entries, new QuotaDelta(-CountedRecords, 0, -freed));
        if (outcome.Succeeded)
        {
            await ForgetAllAsync(activities, a => GrainFactory.GetGrain<IActivityGrain>(GrainKeys.Activity(TenantId, a.Id)).ForgetAsync());
            await ForgetAllAsync(deals, d => GrainFactory.GetGrain<IDealGrain>(GrainKeys.Deal(TenantId, d.Id)).ForgetAsync());
            if (deals.Count > 0)
            {
                await GrainFactory.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(TenantId)).DealsChangedAsync();
            }

            await ForgetAllAsync(contacts, c => GrainFactory.GetGrain<IContactGrain>(GrainKeys.Contact(TenantId, c.Id)).ForgetAsync());
        }

        return outcome;
    }

    /// <summary>The activities a cascade removes: about the customer, one of its contacts or one of its deals ($1 = the customer).</summary>
    private static readonly string ActivitiesAbout = ActivityGrain.AboutCustomer("$1");

    private Task<(int Count, string One, string Many)[]> DependentsAsync() => Database.ReadAsync(
        TenantId,
        TenantDatabase.Statement(
            $"""
            SELECT (SELECT count(*)::integer FROM contacts WHERE customer_id = $1), (SELECT count(*)::integer FROM deals WHERE customer_id = $1),
                   (SELECT count(*)::integer FROM activities WHERE {ActivitiesAbout})
            """, Id),
        async reader => await reader.ReadAsync()
            ? new[] { (reader.GetInt32(0), "contact", "contacts"), (reader.GetInt32(1), "deal", "deals"), (reader.GetInt32(2), "activity", "activities") }
            : []);

    /// <summary>"2 contacts, 1 deal and 3 activities": the counts that are not zero.</summary>
    private static string Counts((int Count, string One, string Many)[] counts)
    {
        var parts = counts.Where(c => c.Count > 0).Select(c => c.Count == 1 ? $"1 {c.One}" : $"{c.Count} {c.Many}").ToArray();
        return parts.Length == 1 ? parts[0] : $"{string.Join(", ", parts[..^1])} and {parts[^1]}";
    }

    internal static CustomerDetails Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        r.GetString(5),
        r.GetFieldValue<string[]>(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.IsDBNull(8) ? null : r.GetGuid(8),
        r.GetFieldValue<DateTimeOffset>(9),
        r.GetFieldValue<DateTimeOffset>(10),
        r.GetInt32(11),
        CustomFieldRules.Canonical(r.GetString(12)));
}
