using System.Globalization;
using Shohayota.Grains.Activities;
using Shohayota.Grains.Contacts;
using Shohayota.Grains.Customers;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Database;
using Shohayota.Grains.Deals;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;
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
/// What a bundle's records may refer to: the bundle's users, and the customers, contacts, deals and pipeline stages
/// (id → kind) the tenant holds once this bundle (and, for an increment, the bundles before it) is applied, and the
/// bundle's custom-field definitions per record type. The sets are the restorer's own, filled as it reads, so a row is
/// checked against what precedes it in the bundle.
/// </summary>
internal sealed class BundleIds(
    IReadOnlySet<Guid> users,
    IReadOnlySet<Guid> customers,
    IReadOnlySet<Guid> contacts,
    IReadOnlySet<Guid> deals,
    IReadOnlyDictionary<Guid, string> stages,
    IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>> customFields,
    bool increment)
{
    private readonly Dictionary<string, IReadOnlyList<CustomFieldDefinition>> _stored = customFields.ToDictionary(
        d => d.Key, d => Stored(d.Value), StringComparer.Ordinal);

    private string Before => increment ? " or the bundles before it" : "";

    /// <summary>
    /// The first value of <paramref name="values"/> the bundle's definitions of <paramref name="recordType"/> do not allow
    /// (<see cref="CustomFieldRules.Check"/>: a known key, the field's type, one of a select's options), named
    /// <c>customFields.{key}</c>; see <see cref="Stored"/> for required fields.
    /// </summary>
    public string? CustomFields(string recordType, string values) =>
        values == CustomFieldRules.Empty ? null : CustomFieldRules.Check(values, _stored[recordType]);

    /// <summary>
    /// The definitions as stored values must fit them: a field made required after records were written leaves those
    /// records without a value until they are next edited (a definitions change refuses only what would strand a value), so
    /// a restore of what the tenant held accepts a required field without a value; every other rule holds for every value.
    /// </summary>
    public static IReadOnlyList<CustomFieldDefinition> Stored(IReadOnlyList<CustomFieldDefinition> definitions) =>
        [.. definitions.Select(d => d.Required ? d with { Required = false } : d)];

    public string? Owner(Guid? id) => User("ownerUserId", id);

    public string? Assignee(Guid? id) => User("assigneeUserId", id);

    public string? Customer(Guid? id) => id is { } customer && !customers.Contains(customer)
        ? $"customerId {customer} is not a customer in the bundle{Before}"
        : null;

    public string? Contact(Guid? id) => id is { } contact && !contacts.Contains(contact)
        ? $"contactId {contact} is not a contact in the bundle{Before}"
        : null;

    public string? Contacts(IReadOnlyList<Guid> ids)
    {
        foreach (var id in ids)
        {
            if (!contacts.Contains(id))
            {
                return $"contactIds: {id} is not a contact in the bundle{Before}";
            }
        }

        return null;
    }

    public string? Deal(Guid? id) => id is { } deal && !deals.Contains(deal)
        ? $"dealId {deal} is not a deal in the bundle{Before}"
        : null;

    /// <summary>The stage is in the bundle's pipeline and the status is its kind (what the database's composite key holds).</summary>
    public string? Stage(Guid stage, string status) =>
        !stages.TryGetValue(stage, out var kind) ? $"stageId {stage} is not a stage in the bundle's pipeline"
        : kind != status ? $"status \"{status}\" is not the kind of stage {stage} (\"{kind}\")"
        : null;

    /// <summary>Users are carried whole in every bundle, so a user is one of this bundle's.</summary>
    private string? User(string field, Guid? id) => id is { } user && !users.Contains(user) ? $"{field} {user} is not a user in the bundle" : null;
}

/// <summary>
/// The record types bundles carry, in the order they are written and restored: contacts refer to customers, deals to
/// customers, contacts and the pipeline's stages, activities to customers, contacts and deals, so each comes after what
/// it refers to (and an increment's removals are applied the other way round).
/// </summary>
internal static class RecordSections
{
    public static readonly RecordSection<CustomerDetails> Customers = new(
        CustomerGrain.Record, "customers", 1, (bundle, c) => bundle.WriteCustomer(c), bundle => bundle.ReadCustomer(),
        (c, known) => FirstRule(CustomerRules.Check(c.Name, c.Email, c.Phone, c.Company, c.Status, c.Tags, c.Notes))
            ?? known.CustomFields(CustomFieldRecordTypes.Customers, c.CustomFields) ?? known.Owner(c.OwnerUserId),
        UpsertCustomersAsync);

    public static readonly RecordSection<ContactDetails> Contacts = new(
        ContactGrain.Record, "contacts", 2, (bundle, c) => bundle.WriteContact(c), bundle => bundle.ReadContact(),
        (c, known) => FirstRule(ContactRules.Check(c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.Tags, c.Notes))
            ?? known.CustomFields(CustomFieldRecordTypes.Contacts, c.CustomFields) ?? known.Customer(c.CustomerId) ?? known.Owner(c.OwnerUserId),
        UpsertContactsAsync);

    public static readonly RecordSection<DealDetails> Deals = new(
        DealGrain.Record, "deals", 3, (bundle, d) => bundle.WriteDeal(d), bundle => bundle.ReadDeal(), CheckDeal, UpsertDealsAsync);

    public static readonly RecordSection<ActivityDetails> Activities = new(
        ActivityGrain.Record, "activities", 4, (bundle, a) => bundle.WriteActivity(a), bundle => bundle.ReadActivity(), CheckActivity,
        UpsertActivitiesAsync);

    /// <summary>The API's rules (one dictionary of field → message, as the REST layer lists them): the first, naming its field.</summary>
    private static string? FirstRule(Dictionary<string, string> errors) =>
        errors.FirstOrDefault() is { Key: { } field, Value: { } rule } ? $"{field}: {rule}" : null;

    /// <summary>
    /// The API's rules, the amount as the database keeps it (at most four decimals as written: 1.50000 would not fit), the
    /// custom-field values, the references, and the closing time that goes with the status.
    /// </summary>
    private static string? CheckDeal(DealDetails d, BundleIds known) =>
        FirstRule(DealRules.Check(d.Name, d.CustomerId, d.ContactIds, d.Amount, d.Currency))
        ?? (d.Amount.Scale > DealRules.MaxDecimals ? $"amount: {d.Amount.ToString(CultureInfo.InvariantCulture)} is written with more than {DealRules.MaxDecimals} decimals" : null)
        ?? known.CustomFields(CustomFieldRecordTypes.Deals, d.CustomFields)
        ?? known.Customer(d.CustomerId)
        ?? known.Contacts(d.ContactIds)
        ?? known.Stage(d.StageId, d.Status)
        ?? ((d.Status == DealStatuses.Open) != (d.ClosedAt is null) ? "closedAt: a deal has a closing time exactly when it is won or lost" : null)
        ?? known.Owner(d.OwnerUserId);

    /// <summary>
    /// The API's rules (a due time only for what is not a note, at least one link), a completion time only for a task, call
    /// or meeting (what the database's note check holds), the links and the assignee.
    /// </summary>
    private static string? CheckActivity(ActivityDetails a, BundleIds known) =>
        FirstRule(ActivityRules.Check(a.Type, a.Subject, a.Body, a.DueAt, a.CustomerId, a.ContactId, a.DealId, done: false))
        ?? (a.Type == ActivityTypes.Note && a.CompletedAt is not null ? "completedAt: a note is never done; only tasks, calls and meetings are completed" : null)
        ?? known.Customer(a.CustomerId)
        ?? known.Contact(a.ContactId)
        ?? known.Deal(a.DealId)
        ?? known.Assignee(a.AssigneeUserId);

    private static async Task UpsertCustomersAsync(TenantTransaction transaction, Guid target, CustomerDetails[] rows, CancellationToken cancellationToken)
    {
        await using var insert = transaction.Command(
            """
            INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, custom_fields, created_at, updated_at, version)
            SELECT $1, r.id, r.name, r.email, r.phone, r.company, r.status, r.tags::text[], r.notes, r.owner, r.custom_fields::jsonb, r.created, r.updated, r.version
            FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::uuid[], $11::text[],
                        $12::timestamptz[], $13::timestamptz[], $14::integer[])
                AS r(id, name, email, phone, company, status, tags, notes, owner, custom_fields, created, updated, version)
            ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, email = excluded.email, phone = excluded.phone,
                company = excluded.company, status = excluded.status, tags = excluded.tags, notes = excluded.notes,
                owner_user_id = excluded.owner_user_id, custom_fields = excluded.custom_fields, created_at = excluded.created_at,
                updated_at = excluded.updated_at, version = excluded.version
            """,
            target, rows.Select(c => c.Id).ToArray(), rows.Select(c => c.Name).ToArray(), rows.Select(c => c.Email).ToArray(),
            rows.Select(c => c.Phone).ToArray(), rows.Select(c => c.Company).ToArray(), rows.Select(c => c.Status).ToArray(),
            rows.Select(c => BundleFormat.TagsLiteral(c.Tags)).ToArray(), rows.Select(c => c.Notes).ToArray(), rows.Select(c => c.OwnerUserId).ToArray(),
            rows.Select(c => c.CustomFields).ToArray(), rows.Select(c => c.CreatedAt).ToArray(), rows.Select(c => c.UpdatedAt).ToArray(),
            rows.Select(c => c.Version).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task UpsertContactsAsync(TenantTransaction transaction, Guid target, ContactDetails[] rows, CancellationToken cancellationToken)
    {
        await using var insert = transaction.Command(
            """
            INSERT INTO contacts (tenant_id, id, first_name, last_name, email, phone, title, customer_id, owner_user_id, tags, notes, custom_fields,
                                  created_at, updated_at, version)
            SELECT $1, r.id, r.first_name, r.last_name, r.email, r.phone, r.title, r.customer, r.owner, r.tags::text[], r.notes, r.custom_fields::jsonb,
                   r.created, r.updated, r.version
            FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::text[],
                        $12::text[], $13::timestamptz[], $14::timestamptz[], $15::integer[])
                AS r(id, first_name, last_name, email, phone, title, customer, owner, tags, notes, custom_fields, created, updated, version)
            ON CONFLICT (tenant_id, id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, email = excluded.email,
                phone = excluded.phone, title = excluded.title, customer_id = excluded.customer_id, owner_user_id = excluded.owner_user_id,
                tags = excluded.tags, notes = excluded.notes, custom_fields = excluded.custom_fields, created_at = excluded.created_at,
                updated_at = excluded.updated_at, version = excluded.version
            """,
            target, rows.Select(c => c.Id).ToArray(), rows.Select(c => c.FirstName).ToArray(), rows.Select(c => c.LastName).ToArray(),
            rows.Select(c => c.Email).ToArray(), rows.Select(c => c.Phone).ToArray(), rows.Select(c => c.Title).ToArray(),
            rows.Select(c => c.CustomerId).ToArray(), rows.Select(c => c.OwnerUserId).ToArray(), rows.Select(c => BundleFormat.TagsLiteral(c.Tags)).ToArray(),
            rows.Select(c => c.Notes).ToArray(), rows.Select(c => c.CustomFields).ToArray(), rows.Select(c => c.CreatedAt).ToArray(),
            rows.Select(c => c.UpdatedAt).ToArray(), rows.Select(c => c.Version).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The deals, then their contact links: each upserted deal's links are replaced by the bundle's.</summary>
    private static async Task UpsertDealsAsync(TenantTransaction transaction, Guid target, DealDetails[] rows, CancellationToken cancellationToken)
    {
        var ids = rows.Select(d => d.Id).ToArray();
        await using (var insert = transaction.Command(
            """
            INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, expected_close_date, owner_user_id, closed_at,
                               custom_fields, created_at, updated_at, version)
            SELECT $1, r.id, r.name, r.customer, r.amount, r.currency, r.stage, r.status, r.expected, r.owner, r.closed, r.custom_fields::jsonb,
                   r.created, r.updated, r.version
            FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::numeric[], $6::text[], $7::uuid[], $8::text[], $9::date[], $10::uuid[],
                        $11::timestamptz[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::integer[])
                AS r(id, name, customer, amount, currency, stage, status, expected, owner, closed, custom_fields, created, updated, version)
            ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, customer_id = excluded.customer_id, amount = excluded.amount,
                currency = excluded.currency, stage_id = excluded.stage_id, status = excluded.status, expected_close_date = excluded.expected_close_date,
                owner_user_id = excluded.owner_user_id, closed_at = excluded.closed_at, custom_fields = excluded.custom_fields,
                created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version
            """,
            target, ids, rows.Select(d => d.Name).ToArray(), rows.Select(d => d.CustomerId).ToArray(), rows.Select(d => d.Amount).ToArray(),
            rows.Select(d => d.Currency).ToArray(), rows.Select(d => d.StageId).ToArray(), rows.Select(d => d.Status).ToArray(),
            rows.Select(d => d.ExpectedCloseDate).ToArray(), rows.Select(d => d.OwnerUserId).ToArray(), rows.Select(d => d.ClosedAt).ToArray(),
            rows.Select(d => d.CustomFields).ToArray(), rows.Select(d => d.CreatedAt).ToArray(), rows.Select(d => d.UpdatedAt).ToArray(),
            rows.Select(d => d.Version).ToArray()))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.ExecuteAsync("DELETE FROM deal_contacts WHERE tenant_id = $1 AND deal_id = ANY($2)", target, ids);
        var links = rows.SelectMany(d => d.ContactIds.Select(contact => (Deal: d.Id, Contact: contact))).ToArray();
        if (links.Length > 0)
        {
            await transaction.ExecuteAsync(
                "INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) SELECT $1, l.deal, l.contact FROM unnest($2::uuid[], $3::uuid[]) AS l(deal, contact)",
                target, links.Select(l => l.Deal).ToArray(), links.Select(l => l.Contact).ToArray());
        }

        // The rows' copy of their links (sql/0180), in the uuid order the grain writes it.
        await transaction.ExecuteAsync(
            """
            UPDATE deals d SET contact_ids = ARRAY(SELECT dc.contact_id FROM deal_contacts dc WHERE dc.tenant_id = d.tenant_id AND dc.deal_id = d.id ORDER BY dc.contact_id)
            WHERE d.tenant_id = $1 AND d.id = ANY($2)
            """,
            target, ids);
    }

    private static async Task UpsertActivitiesAsync(TenantTransaction transaction, Guid target, ActivityDetails[] rows, CancellationToken cancellationToken)
    {
        await using var insert = transaction.Command(
            """
            INSERT INTO activities (tenant_id, id, type, subject, body, due_at, assignee_user_id, customer_id, contact_id, deal_id, completed_at,
                                    created_at, updated_at, version)
            SELECT $1, r.id, r.type, r.subject, r.body, r.due, r.assignee, r.customer, r.contact, r.deal, r.completed, r.created, r.updated, r.version
            FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::uuid[], $8::uuid[], $9::uuid[], $10::uuid[],
                        $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::integer[])
                AS r(id, type, subject, body, due, assignee, customer, contact, deal, completed, created, updated, version)
            ON CONFLICT (tenant_id, id) DO UPDATE SET type = excluded.type, subject = excluded.subject, body = excluded.body, due_at = excluded.due_at,
                assignee_user_id = excluded.assignee_user_id, customer_id = excluded.customer_id, contact_id = excluded.contact_id,
                deal_id = excluded.deal_id, completed_at = excluded.completed_at, created_at = excluded.created_at, updated_at = excluded.updated_at,
                version = excluded.version
            """,
            target, rows.Select(a => a.Id).ToArray(), rows.Select(a => a.Type).ToArray(), rows.Select(a => a.Subject).ToArray(),
            rows.Select(a => a.Body).ToArray(), rows.Select(a => a.DueAt).ToArray(), rows.Select(a => a.AssigneeUserId).ToArray(),
            rows.Select(a => a.CustomerId).ToArray(), rows.Select(a => a.ContactId).ToArray(), rows.Select(a => a.DealId).ToArray(),
            rows.Select(a => a.CompletedAt).ToArray(), rows.Select(a => a.CreatedAt).ToArray(), rows.Select(a => a.UpdatedAt).ToArray(),
            rows.Select(a => a.Version).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }
}
