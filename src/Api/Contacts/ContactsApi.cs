using System.Text.Json;
using Shohayota.Api.Auth;
using Shohayota.Api.CustomFields;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Records;
using Shohayota.Grains.Contacts;
using Shohayota.Grains.Customers;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;

namespace Shohayota.Api.Contacts;

/// <summary>
/// The people of the tenant's customers. Same conventions as customers (<see cref="RecordHttp"/>): the tenant is the
/// caller's, from the token; another tenant's id answers like a missing one, and so does another tenant's customerId.
/// </summary>
public static class ContactsApi
{
    private static readonly HashSet<string> ListParameters = new(StringComparer.Ordinal) { "q", "customerId", "tag", "ownerUserId", "sort", "pageSize", "cursor" };

    private static readonly Dictionary<string, ContactSort> Sorts = new(StringComparer.Ordinal)
    {
        ["createdAt"] = ContactSort.CreatedAtAscending,
        ["-createdAt"] = ContactSort.CreatedAtDescending,
        ["updatedAt"] = ContactSort.UpdatedAtAscending,
        ["-updatedAt"] = ContactSort.UpdatedAtDescending,
        ["name"] = ContactSort.NameAscending,
        ["-name"] = ContactSort.NameDescending,
    };

    private static readonly RecordRoutes<IContactGrain, ContactDetails, ContactFields, ContactBody, ContactResponse> Routes = new(
        "contact", "/api/contacts", GrainKeys.Contact, ContactIds.ForIdempotencyKey,
        b => ContactRules.Check(b.FirstName, b.LastName, b.Email, b.Phone, b.Title, b.Tags, b.Notes), ToFields, ToResponse,
        new(CustomFieldRecordTypes.Contacts, b => b.CustomFields, (f, values) => f with { CustomFields = values }), cascades: true);

    private static readonly RecordDescriptions Descriptions = new(
        Create: "Creates a contact (a first or a last name required; a `customerId` or `ownerUserId` that is not the tenant's is 400 like a " +
            "missing one) → 201 with `Location` and its version as `ETag`. An `Idempotency-Key` header (1–200 characters) makes a retry by the " +
            "same user answer with the contact the first request created (the same key with other fields: 422). Counts against the storage " +
            "quota (403 `quota-exceeded` beyond) and is audited as `contact.created`; any user of the tenant or an API key.",
        Get: "One contact, with its version as `ETag`. Another tenant's id answers 404 like a missing one; any user of the tenant or an API key.",
        Update: "Replaces every field of a contact → 200 with the new `ETag`; with `If-Match` a stale version is 412 `precondition-failed`, " +
            "and a write that lost a race with another writer is 409 `conflict`. Audited as `contact.updated` with the changed fields; another " +
            "tenant's id is 404 like a missing one; any user of the tenant or an API key.",
        Delete: "Deletes a contact → 204 (`If-Match` optional, 412 when stale). A contact on a deal is 409 until it is taken off the deal, " +
            "and one with activities is 409 naming their count unless `?cascade=true` removes them with it, each with its own audit entry. " +
            "Audited as `contact.deleted`; another tenant's id is 404 like a missing one; any user of the tenant or an API key.");

    public static IEndpointRouteBuilder MapContactsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/contacts").WithTags("Contacts").RequireAdmission(AuthExtensions.TenantUserPolicy);
        group.MapGet("/", ListContactsAsync).Produces<ContactList>().WithMetadata(new QueryParameters(ListParameters))
            .WithDescription("A page of the tenant's contacts, `{items, nextCursor}`, newest first by default: `q` matches \"first last\" or " +
                "the e-mail (literally, ignoring case); filter by `customerId`, `tag`, `ownerUserId` and custom fields (`cf.{key}=value`); " +
                "`sort` by `name`, `createdAt` or `updatedAt` (`-` for descending); keyset pagination with `pageSize` (≤ 200) and `cursor`. With " +
                "`Accept: text/csv` it streams every match as CSV instead (audited as `contacts.exported`; one export per tenant and node at a " +
                "time, else 429). Any user of the tenant or an API key; an unknown, repeated or invalid parameter is 400, a search that " +
                "waited too long for one of the tenant's turns on the node 429.");
        Routes.Map(group, Descriptions);
        return routes;
    }

    public sealed record ContactBody(
        string? FirstName, string? LastName, string? Email, string? Phone, string? Title, Guid? CustomerId, Guid? OwnerUserId, List<string?>? Tags,
        string? Notes, JsonElement? CustomFields = null);

    public sealed record ContactResponse(
        Guid Id, string? FirstName, string? LastName, string? Email, string? Phone, string? Title, Guid? CustomerId, Guid? OwnerUserId,
        IReadOnlyList<string> Tags, string? Notes, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Version, JsonElement CustomFields);

    public sealed record ContactList(IEnumerable<ContactResponse> Items, string? NextCursor);

    public static ContactResponse ToResponse(ContactDetails c) =>
        new(c.Id, c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.CustomerId, c.OwnerUserId, c.Tags, c.Notes, c.CreatedAt, c.UpdatedAt, c.Version,
            CustomFieldsApi.Values(c.CustomFields));

    private static async Task<IResult> ListContactsAsync(HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, ListParameters, customFields: true);
        string? One(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        var q = One("q");
        var tag = One("tag");

        var (qError, tagError) = CustomerRules.CheckSearch(q, tag);
        errors.Check("q", qError).Check("tag", tagError);
        var pageSize = RecordHttp.PageSize(One("pageSize"), errors);
        var customer = RecordHttp.Id("customerId", One("customerId"), errors);
        var owner = RecordHttp.Id("ownerUserId", One("ownerUserId"), errors);
        var (sort, cursor) = RecordHttp.SortAndCursor(One("sort"), One("cursor"), Sorts, ContactSort.CreatedAtDescending, DecodeCursor, c => c.Sort, errors);
        var customFields = await CustomFieldsApi.FilterAsync(query, grains, http, CustomFieldRecordTypes.Contacts, errors);

        var csv = CsvExport.Wanted(http.Request);
        if (csv)
        {
            CsvExport.CheckNoPaging(query, errors);
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var caller = http.User.ToCaller();
        var list = grains.GetGrain<IContactQueryGrain>(GrainKeys.ContactQuery(caller.TenantId));
        var filter = new ContactQuery(q is { Length: > 0 } ? q : null, customer, tag, owner, sort, pageSize, cursor, customFields);
        if (csv)
        {
            var definitions = await CustomFieldsApi.DefinitionsAsync(grains, http, CustomFieldRecordTypes.Contacts);
            return await CsvExport.StreamAsync<ContactDetails, ContactCursor, ContactPage>(http, "contacts", CustomFieldsApi.CsvHeader(CsvHeader, definitions),
                CustomFieldsApi.WithCells<ContactDetails>(WriteCsvRow, definitions, c => c.CustomFields),
                after => list.ListAsync(filter with { PageSize = CsvPageSize, After = after }), page => (page.Items, page.Next),
                new Dictionary<string, string?>
                {
                    ["q"] = filter.Q, ["customerId"] = customer?.ToString("D"), ["tag"] = tag, ["ownerUserId"] = owner?.ToString("D"), ["sort"] = One("sort"),
                }.WithFilters(query));
        }

        var outcome = await list.ListAsync(filter);
        if (!outcome.Succeeded)
        {
            Problems.SetRetryAfter(http.Response, outcome);
            return Problems.From(outcome);
        }

        var page = outcome.Value!;
        return TypedResults.Ok(new ContactList(page.Items.Select(ToResponse), page.Next is null ? null : RecordHttp.EncodeCursor(CursorBody.Of(page.Next))));
    }

    /// <summary>Rows per page of a CSV export: the list's largest page.</summary>
    private const int CsvPageSize = 200;

    private static readonly string[] CsvHeader =
        ["id", "firstName", "lastName", "email", "phone", "title", "customerId", "ownerUserId", "tags", "notes", "createdAt", "updatedAt", "version"];

    /// <summary>One contact as a CSV record; tags joined by <c>;</c>, times in ISO 8601 (UTC).</summary>
    private static void WriteCsvRow(CsvHelper.CsvWriter csv, ContactDetails c)
    {
        csv.WriteField(c.Id, "D");
        csv.WriteField(c.FirstName);
        csv.WriteField(c.LastName);
        csv.WriteField(c.Email);
        csv.WriteField(c.Phone);
        csv.WriteField(c.Title);
        csv.WriteField(c.CustomerId, "D");
        csv.WriteField(c.OwnerUserId, "D");
        csv.WriteField(string.Join(';', c.Tags));
        csv.WriteField(c.Notes);
        csv.WriteField(c.CreatedAt.ToUniversalTime(), "O");
        csv.WriteField(c.UpdatedAt.ToUniversalTime(), "O");
        csv.WriteField(c.Version, "");
    }

    private static ContactFields ToFields(ContactBody b) =>
        new(b.FirstName, b.LastName, b.Email, b.Phone, b.Title, b.CustomerId, b.OwnerUserId, b.Tags?.Select(t => t!).ToList() ?? [], b.Notes);

    private sealed record CursorBody(ContactSort S, string? N, DateTimeOffset? A, Guid I)
    {
        public static CursorBody Of(ContactCursor c) => new(c.Sort, c.Name, c.At, c.Id);
    }

    private static ContactCursor? DecodeCursor(string text)
    {
        var body = RecordHttp.DecodeCursor<CursorBody>(text);
        var byName = body?.S is ContactSort.NameAscending or ContactSort.NameDescending;
        return body is null || !Enum.IsDefined(body.S) || body.I == Guid.Empty || (byName ? body.N is null : body.A is null)
            ? null
            : new ContactCursor(body.S, body.N, body.A, body.I);
    }
}
