using Microsoft.AspNetCore.Mvc;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Records;
using Shohayota.Grains.Contacts;
using Shohayota.Grains.Customers;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;

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

    public static IEndpointRouteBuilder MapContactsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/contacts").WithTags("Contacts").RequireAdmission(AuthExtensions.TenantUserPolicy);
        group.MapGet("/", ListContactsAsync);
        group.MapPost("/", CreateContactAsync);
        group.MapGet("/{id:guid}", GetContactAsync);
        group.MapPut("/{id:guid}", UpdateContactAsync);
        group.MapDelete("/{id:guid}", DeleteContactAsync);
        return routes;
    }

    public sealed record ContactBody(
        string? FirstName, string? LastName, string? Email, string? Phone, string? Title, Guid? CustomerId, Guid? OwnerUserId, List<string?>? Tags,
        string? Notes);

    public sealed record ContactResponse(
        Guid Id, string? FirstName, string? LastName, string? Email, string? Phone, string? Title, Guid? CustomerId, Guid? OwnerUserId,
        IReadOnlyList<string> Tags, string? Notes, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Version);

    public sealed record ContactList(IEnumerable<ContactResponse> Items, string? NextCursor);

    public static ContactResponse ToResponse(ContactDetails c) =>
        new(c.Id, c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.CustomerId, c.OwnerUserId, c.Tags, c.Notes, c.CreatedAt, c.UpdatedAt, c.Version);

    private static IContactGrain Contact(IGrainFactory grains, HttpContext http, Guid id) =>
        GrainReferences.Get<IContactGrain>(grains, http.RequestServices, GrainKeys.Contact(http.User.ToCaller().TenantId, id));

    private static async Task<IResult> GetContactAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        if (await Contact(grains, http, id).GetAsync() is not { } contact)
        {
            return NotFound();
        }

        http.Response.Headers.ETag = RecordHttp.ETag(contact.Version);
        return TypedResults.Ok(ToResponse(contact));
    }

    private static async Task<IResult> CreateContactAsync(
        ContactBody body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, HttpContext http, IGrainFactory grains)
    {
        if (RecordHttp.CheckIdempotencyKey(idempotencyKey) is { } badKey)
        {
            return badKey;
        }

        if (Validate(body) is { } invalid)
        {
            return invalid;
        }

        var caller = http.User.ToCaller();
        var id = idempotencyKey is null ? Guid.NewGuid() : ContactIds.ForIdempotencyKey(caller.TenantId, caller.UserId, idempotencyKey);
        var contact = Contact(grains, http, id);
        var outcome = idempotencyKey is null ? await contact.CreateAsync(ToFields(body)) : await contact.CreateOnceAsync(ToFields(body));
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Version);
        return TypedResults.Created($"/api/contacts/{id}", ToResponse(outcome.Value));
    }

    private static async Task<IResult> UpdateContactAsync(Guid id, ContactBody body, HttpContext http, IGrainFactory grains)
    {
        if (!RecordHttp.TryIfMatch(http, out var expected))
        {
            return RecordHttp.Malformed("If-Match", RecordHttp.IfMatchRule);
        }

        if (Validate(body) is { } invalid)
        {
            return invalid;
        }

        var outcome = await Contact(grains, http, id).UpdateAsync(ToFields(body), expected);
        if (!outcome.Succeeded)
        {
            return outcome.Failure == Failure.NotFound ? NotFound() : Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Version);
        return TypedResults.Ok(ToResponse(outcome.Value));
    }

    private static async Task<IResult> DeleteContactAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        if (!RecordHttp.TryIfMatch(http, out var expected))
        {
            return RecordHttp.Malformed("If-Match", RecordHttp.IfMatchRule);
        }

        var outcome = await Contact(grains, http, id).DeleteAsync(expected);
        return outcome.Succeeded ? TypedResults.NoContent()
            : outcome.Failure == Failure.NotFound ? NotFound()
            : Problems.From(outcome);
    }

    private static async Task<IResult> ListContactsAsync(HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, ListParameters);
        string? One(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        var q = One("q");
        var tag = One("tag");
        var sort = ContactSort.CreatedAtDescending;
        ContactCursor? cursor = null;

        errors.Check("q", q is { Length: > 200 } ? "q has at most 200 characters." : q is not null && q.Any(char.IsControl) ? "q cannot contain control characters." : null);
        errors.Check("tag", tag is null || tag.Length is >= 1 and <= CustomerRules.MaxTagLength ? null : $"A tag has 1 to {CustomerRules.MaxTagLength} characters.");
        var pageSize = RecordHttp.PageSize(One("pageSize"), errors);
        var customer = RecordHttp.Id("customerId", One("customerId"), errors);
        var owner = RecordHttp.Id("ownerUserId", One("ownerUserId"), errors);
        if (One("sort") is { } sortText && !Sorts.TryGetValue(sortText, out sort))
        {
            errors.Check("sort", $"sort must be one of: {string.Join(", ", Sorts.Keys)}.");
        }

        if (One("cursor") is { } cursorText)
        {
            cursor = DecodeCursor(cursorText);
            errors.Check("cursor", cursor is null ? "The cursor is not one this API returned."
                : cursor.Sort != sort ? "The cursor belongs to another sort order; keep the sort of the first page." : null);
        }

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
        var filter = new ContactQuery(q is { Length: > 0 } ? q : null, customer, tag, owner, sort, pageSize, cursor);
        if (csv)
        {
            return await CsvExport.StreamAsync<ContactDetails, ContactCursor>(http, "contacts", CsvHeader, WriteCsvRow,
                async after => (await list.ListAsync(filter with { PageSize = CsvPageSize, After = after })) is var page && page.Succeeded
                    ? Outcome<(IReadOnlyList<ContactDetails>, ContactCursor?)>.Ok((page.Value!.Items, page.Value.Next))
                    : page.As<(IReadOnlyList<ContactDetails>, ContactCursor?)>(),
                new Dictionary<string, string?>
                {
                    ["q"] = filter.Q, ["customerId"] = customer?.ToString("D"), ["tag"] = tag, ["ownerUserId"] = owner?.ToString("D"), ["sort"] = One("sort"),
                });
        }

        var outcome = await list.ListAsync(filter);
        if (!outcome.Succeeded)
        {
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

    private static IResult? Validate(ContactBody body)
    {
        var errors = ContactRules.Check(body.FirstName, body.LastName, body.Email, body.Phone, body.Title, body.Tags, body.Notes);
        return errors.Count == 0 ? null : Problems.Validation(errors.ToDictionary(e => e.Key, e => new[] { e.Value }));
    }

    private static ContactFields ToFields(ContactBody b) =>
        new(b.FirstName, b.LastName, b.Email, b.Phone, b.Title, b.CustomerId, b.OwnerUserId, b.Tags?.Select(t => t!).ToList() ?? [], b.Notes);

    // The same body for a foreign id as for a missing one: nothing tells another tenant's contact exists.
    private static IResult NotFound() => Problems.From(Failure.NotFound, "No such contact.");

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
