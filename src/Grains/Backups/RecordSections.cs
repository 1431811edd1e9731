using Shohayota.Grains.Contacts;
using Shohayota.Grains.Customers;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Records;

namespace Shohayota.Grains.Backups;

/// <summary>
/// One CRM record type as a bundle carries it: an array of rows under <see cref="Key"/> and, in an increment, the ids
/// removed since under <see cref="DeletedKey"/>. The exporter, the reader and the restorer are written once over these,
/// so record types differ only in <see cref="RecordSections"/>.
/// </summary>
internal abstract class RecordSection(RecordType type, string key, int firstVersion)
{
    /// <summary>The table and columns the export reads, and the audit target type whose entries mark a row as changed.</summary>
    public RecordType Type => type;

    public string Key => key;

    public string DeletedKey { get; } = "deleted" + char.ToUpperInvariant(key[0]) + key[1..];

    /// <summary>The bundle version that introduced the section: older bundles have none of these records.</summary>
    public int FirstVersion => firstVersion;
}

/// <param name="write">One row as JSON (the writer's hot path).</param>
/// <param name="read">One row's fields, in the order <paramref name="write"/> puts them.</param>
/// <param name="check">The first rule the row breaks (the API's field rules, then its references), as "field: problem".</param>
/// <param name="upsert">Writes a batch of rows, replacing those with the same id (an increment's changed rows).</param>
internal sealed class RecordSection<T>(
    RecordType type,
    string key,
    int firstVersion,
    Action<BundleWriter, T> write,
    Func<BundleReader, T> read,
    Func<T, BundleIds, string?> check,
    Func<TenantTransaction, Guid, T[], CancellationToken, Task> upsert)
    : RecordSection(type, key, firstVersion)
    where T : class, IRecordDetails
{
    public void Write(BundleWriter bundle, T row) => write(bundle, row);

    public T Read(BundleReader bundle) => read(bundle);

    public string? Check(T row, BundleIds known) => check(row, known);

    public Task UpsertAsync(TenantTransaction transaction, Guid tenantId, T[] rows, CancellationToken cancellationToken) =>
        upsert(transaction, tenantId, rows, cancellationToken);
}

/// <summary>
/// What a bundle's records may refer to: the bundle's users, and the customers the tenant holds once this bundle (and,
/// for an increment, the bundles before it) is applied.
/// </summary>
internal sealed class BundleIds(IReadOnlySet<Guid> users, IReadOnlySet<Guid> customers, bool increment)
{
    public string? Owner(Guid? id) => id is { } user && !users.Contains(user) ? $"ownerUserId {user} is not a user in the bundle" : null;

    public string? Customer(Guid? id) => id is { } customer && !customers.Contains(customer)
        ? $"customerId {customer} is not a customer in the bundle{(increment ? " or the bundles before it" : "")}"
        : null;
}

/// <summary>
/// The record types bundles carry, in the order they are written and restored: contacts refer to customers, so they
/// come after them (and an increment's removals are applied the other way round).
/// </summary>
internal static class RecordSections
{
    public static readonly RecordSection<CustomerDetails> Customers = new(
        CustomerGrain.Record, "customers", 1, (bundle, c) => bundle.WriteCustomer(c), bundle => bundle.ReadCustomer(),
        (c, known) => FirstRule(CustomerRules.Check(c.Name, c.Email, c.Phone, c.Company, c.Status, c.Tags, c.Notes)) ?? known.Owner(c.OwnerUserId),
        UpsertCustomersAsync);

    public static readonly RecordSection<ContactDetails> Contacts = new(
        ContactGrain.Record, "contacts", 2, (bundle, c) => bundle.WriteContact(c), bundle => bundle.ReadContact(),
        (c, known) => FirstRule(ContactRules.Check(c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.Tags, c.Notes))
            ?? known.Customer(c.CustomerId) ?? known.Owner(c.OwnerUserId),
        UpsertContactsAsync);

    /// <summary>The API's rules (one dictionary of field → message, as the REST layer lists them): the first, naming its field.</summary>
    private static string? FirstRule(Dictionary<string, string> errors) =>
        errors.FirstOrDefault() is { Key: { } field, Value: { } rule } ? $"{field}: {rule}" : null;

    private static async Task UpsertCustomersAsync(TenantTransaction transaction, Guid target, CustomerDetails[] rows, CancellationToken cancellationToken)
    {
        await using var insert = transaction.Command(
            """
            INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version)
            SELECT $1, r.id, r.name, r.email, r.phone, r.company, r.status, r.tags::text[], r.notes, r.owner, r.created, r.updated, r.version
            FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::uuid[],
                        $11::timestamptz[], $12::timestamptz[], $13::integer[])
                AS r(id, name, email, phone, company, status, tags, notes, owner, created, updated, version)
            ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, email = excluded.email, phone = excluded.phone,
                company = excluded.company, status = excluded.status, tags = excluded.tags, notes = excluded.notes,
                owner_user_id = excluded.owner_user_id, created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version
            """,
            target, rows.Select(c => c.Id).ToArray(), rows.Select(c => c.Name).ToArray(), rows.Select(c => c.Email).ToArray(),
            rows.Select(c => c.Phone).ToArray(), rows.Select(c => c.Company).ToArray(), rows.Select(c => c.Status).ToArray(),
            rows.Select(c => BundleFormat.TagsLiteral(c.Tags)).ToArray(), rows.Select(c => c.Notes).ToArray(), rows.Select(c => c.OwnerUserId).ToArray(),
            rows.Select(c => c.CreatedAt).ToArray(), rows.Select(c => c.UpdatedAt).ToArray(), rows.Select(c => c.Version).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task UpsertContactsAsync(TenantTransaction transaction, Guid target, ContactDetails[] rows, CancellationToken cancellationToken)
    {
        await using var insert = transaction.Command(
            """
            INSERT INTO contacts (tenant_id, id, first_name, last_name, email, phone, title, customer_id, owner_user_id, tags, notes, created_at, updated_at, version)
            SELECT $1, r.id, r.first_name, r.last_name, r.email, r.phone, r.title, r.customer, r.owner, r.tags::text[], r.notes, r.created, r.updated, r.version
            FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::text[],
                        $12::timestamptz[], $13::timestamptz[], $14::integer[])
                AS r(id, first_name, last_name, email, phone, title, customer, owner, tags, notes, created, updated, version)
            ON CONFLICT (tenant_id, id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, email = excluded.email,
                phone = excluded.phone, title = excluded.title, customer_id = excluded.customer_id, owner_user_id = excluded.owner_user_id,
                tags = excluded.tags, notes = excluded.notes, created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version
            """,
            target, rows.Select(c => c.Id).ToArray(), rows.Select(c => c.FirstName).ToArray(), rows.Select(c => c.LastName).ToArray(),
            rows.Select(c => c.Email).ToArray(), rows.Select(c => c.Phone).ToArray(), rows.Select(c => c.Title).ToArray(),
            rows.Select(c => c.CustomerId).ToArray(), rows.Select(c => c.OwnerUserId).ToArray(), rows.Select(c => BundleFormat.TagsLiteral(c.Tags)).ToArray(),
            rows.Select(c => c.Notes).ToArray(), rows.Select(c => c.CreatedAt).ToArray(), rows.Select(c => c.UpdatedAt).ToArray(),
            rows.Select(c => c.Version).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }
}
