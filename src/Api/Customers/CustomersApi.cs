using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Shohayota.Api.Auth;
using Shohayota.Api.CustomFields;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Records;
using Shohayota.Grains.Customers;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;

namespace Shohayota.Api.Customers;

/// <summary>The CRM's customers. The tenant is the caller's, from the token; another tenant's id answers like a missing one.</summary>
public static class CustomersApi
{
    private static readonly HashSet<string> ListParameters = new(StringComparer.Ordinal) { "q", "status", "tag", "ownerUserId", "sort", "pageSize", "cursor" };


    private static readonly Dictionary<string, CustomerSort> Sorts = new(StringComparer.Ordinal)
    {
        ["createdAt"] = CustomerSort.CreatedAtAscending,
        ["-createdAt"] = CustomerSort.CreatedAtDescending,
        ["updatedAt"] = CustomerSort.UpdatedAtAscending,
        ["-updatedAt"] = CustomerSort.UpdatedAtDescending,
        ["name"] = CustomerSort.NameAscending,
        ["-name"] = CustomerSort.NameDescending,
        ["relevance"] = CustomerSort.Relevance,
    };

    private static readonly RecordRoutes<ICustomerGrain, CustomerDetails, CustomerFields, CustomerBody, CustomerResponse> Routes = new(
        "customer", "/api/customers", GrainKeys.Customer, CustomerIds.ForIdempotencyKey,
        b => CustomerRules.Check(b.Name, b.Email, b.Phone, b.Company, b.Status, b.Tags, b.Notes), ToFields, ToResponse,
        new(CustomFieldRecordTypes.Customers, b => b.CustomFields, (f, values) => f with { CustomFields = values }), cascades: true);

    private static readonly RecordDescriptions Descriptions = new(
        Create: "Creates a customer → 201 with `Location` and its version as `ETag`; every broken field rule is listed in one 400. An " +
            "`Idempotency-Key` header (1–200 characters) makes a retry by the same user answer with the customer the first request created " +
            "(the same key with other fields: 422). Counts against the customers and storage quotas (403 `quota-exceeded` beyond) and is " +
            "audited as `customer.created`; any user of the tenant or an API key.",
        Get: "One customer, with its version as `ETag`. Another tenant's id answers 404 like a missing one; any user of the tenant or an API key.",
        Update: "Replaces every field of a customer → 200 with the new `ETag`; with `If-Match` a stale version is 412 `precondition-failed`, " +
            "and a write that lost a race with another writer is 409 `conflict`. Audited as `customer.updated` with the changed fields; another " +
            "tenant's id is 404 like a missing one; any user of the tenant or an API key.",
        Delete: "Deletes a customer → 204 (`If-Match` optional, 412 when stale). One that still has contacts, deals or activities is 409 naming " +
            "their counts, unless `?cascade=true` removes them with it in the same transaction, each with its own audit entry. Audited as " +
            "`customer.deleted`; another tenant's id is 404 like a missing one; any user of the tenant or an API key.");

    public static IEndpointRouteBuilder MapCustomersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/customers").WithTags("Customers").RequireAdmission(AuthExtensions.TenantUserPolicy);
        group.MapGet("/", ListCustomersAsync).Produces<CustomerList>().WithMetadata(new QueryParameters(ListParameters))
            .WithDescription("A page of the tenant's customers, `{items, nextCursor}`, newest first by default: `q` searches name, e-mail and " +
                "company; filter by `status`, `tag`, `ownerUserId` and custom fields (`cf.{key}=value`); `sort` by `name`, `createdAt` or " +
                "`updatedAt` (`-` for descending, `relevance` with `q`); keyset pagination with `pageSize` (≤ 200) and `cursor`. With " +
                "`Accept: text/csv` it streams every match as CSV instead (audited as `customers.exported`; one export per tenant and node at a " +
                "time, else 429). Any user of the tenant or an API key; an unknown or invalid parameter is 400, a search past its time limit " +
                "503, a search that waited too long for one of the tenant's turns on the node 429.");
        // A customer that still has contacts, deals or activities: 409 with their counts, unless ?cascade=true.
        Routes.Map(group, Descriptions, new RequestExamples(("A new customer", """{"name": "Acme Corp", "email": "ops@acme.example", "tags": ["vip"]}""")));
        group.MapGet("/{id:guid}/timeline", TimelineAsync).WithMetadata(new QueryParameters(TimelineParameters))
            .WithDescription("The changes to a customer and to its contacts, deals and activities, from the audit log, newest first (without " +
                "IP addresses or user agents); keyset pagination with `pageSize` (≤ 200) and `cursor`. Any user of the tenant or an API key; " +
                "another tenant's customer is 404 like a missing one.");
        return routes;
    }

    public sealed record CustomerBody(
        string? Name, string? Email, string? Phone, string? Company, string? Status, List<string?>? Tags, string? Notes, Guid? OwnerUserId,
        JsonElement? CustomFields = null);

    public sealed record CustomerResponse(
        Guid Id, string Name, string? Email, string? Phone, string? Company, string Status, IReadOnlyList<string> Tags, string? Notes,
        Guid? OwnerUserId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Version, JsonElement CustomFields);

    public sealed record CustomerList(IEnumerable<CustomerResponse> Items, string? NextCursor);

    public static CustomerResponse ToResponse(CustomerDetails c) =>
        new(c.Id, c.Name, c.Email, c.Phone, c.Company, c.Status, c.Tags, c.Notes, c.OwnerUserId, c.CreatedAt, c.UpdatedAt, c.Version, CustomFieldsApi.Values(c.CustomFields));

    private static readonly HashSet<string> TimelineParameters = new(StringComparer.Ordinal) { "pageSize", "cursor" };

    public sealed record TimelineActor(Guid? Id, string? Email, string? Role);

    public sealed record TimelineItem(
        long Seq, DateTimeOffset At, string Action, string? TargetType, string? TargetId, TimelineActor Actor, string Outcome, System.Text.Json.Nodes.JsonNode? Details);

    public sealed record Timeline(IEnumerable<TimelineItem> Items, string? NextCursor);

    /// <summary>
    /// The changes to a customer and to its contacts, from the audit log, newest first: what its team did, for its team
    /// (members too; without the entries' addresses and user agents, which stay in the admins' audit log).
    /// </summary>
    private static async Task<Results<Ok<Timeline>, FieldProblem, ProblemHttpResult>> TimelineAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, TimelineParameters);
        var pageSize = RecordHttp.PageSize(query.TryGetValue("pageSize", out var size) ? size.ToString() : null, errors);
        long? before = null;
        if (query.TryGetValue("cursor", out var cursorText))
        {
            if (long.TryParse(cursorText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq > 0)
            {
                before = seq;
            }
            else
            {
                errors.Check("cursor", "The cursor is not one this API returned.");
            }
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (await Routes.Grain(grains, http, id).GetAsync() is null)
        {
            return Routes.NotFound();
        }

        var page = await grains.GetGrain<Grains.Interfaces.Audit.IAuditQueryGrain>(GrainKeys.AuditQuery(http.User.ToCaller().TenantId))
            .TimelineAsync(id, pageSize, before);
        return TypedResults.Ok(new Timeline(
            page.Items.Select(e => new TimelineItem(e.Seq, e.At, e.Action, e.TargetType, e.TargetId, new TimelineActor(e.Actor.Id, e.Actor.Email, e.Actor.Role),
                e.Outcome, e.Details is null ? null : System.Text.Json.Nodes.JsonNode.Parse(e.Details))),
            page.NextBeforeSeq?.ToString(CultureInfo.InvariantCulture)));
    }

    private static async Task<IResult> ListCustomersAsync(HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, ListParameters, customFields: true);

        string? One(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        var q = One("q");
        var status = One("status");
        var tag = One("tag");
        var (qError, tagError) = CustomerRules.CheckSearch(q, tag);
        errors.Check("q", qError).Check("tag", tagError);
        errors.Check("status", status is null || CustomerStatuses.All.Contains(status) ? null : $"Status must be one of: {string.Join(", ", CustomerStatuses.All)}.");
        var pageSize = RecordHttp.PageSize(One("pageSize"), errors);
        var owner = RecordHttp.Id("ownerUserId", One("ownerUserId"), errors);

        var (sort, cursor) = RecordHttp.SortAndCursor(One("sort"), One("cursor"), Sorts, CustomerSort.CreatedAtDescending, DecodeCursor, c => c.Sort, errors);
        if (sort == CustomerSort.Relevance && string.IsNullOrEmpty(q))
        {
            errors.Check("sort", "sort=relevance orders by similarity to the search term: give q too.");
        }

        var customFields = await CustomFieldsApi.FilterAsync(query, grains, http, CustomFieldRecordTypes.Customers, errors);

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
        var list = grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(caller.TenantId));
        var filter = new CustomerQuery(q is { Length: > 0 } ? q : null, status, tag, owner, sort, pageSize, cursor, customFields);
        if (csv)
        {
            var definitions = await CustomFieldsApi.DefinitionsAsync(grains, http, CustomFieldRecordTypes.Customers);
            return await CsvExport.StreamAsync<CustomerDetails, CustomerCursor, CustomerPage>(http, "customers", CustomFieldsApi.CsvHeader(CsvHeader, definitions),
                CustomFieldsApi.WithCells<CustomerDetails>(WriteCsvRow, definitions, c => c.CustomFields),
                after => list.ListAsync(filter with { PageSize = CsvPageSize, After = after }), page => (page.Items, page.Next),
                new Dictionary<string, string?> { ["q"] = filter.Q, ["status"] = status, ["tag"] = tag, ["ownerUserId"] = owner?.ToString("D"), ["sort"] = One("sort") }
                    .WithFilters(query));
        }

        var outcome = await list.ListAsync(filter);
        if (!outcome.Succeeded)
        {
            Problems.SetRetryAfter(http.Response, outcome);
            return Problems.From(outcome);
        }

        var page = outcome.Value!;
        return TypedResults.Ok(new CustomerList(page.Items.Select(ToResponse), page.Next is null ? null : EncodeCursor(page.Next)));
    }

    /// <summary>Rows per page of a CSV export: the list's largest page.</summary>
    private const int CsvPageSize = 200;

    private static readonly string[] CsvHeader = ["id", "name", "email", "phone", "company", "status", "tags", "notes", "ownerUserId", "createdAt", "updatedAt", "version"];

    /// <summary>One customer as a CSV record; tags joined by <c>;</c>, times in ISO 8601 (UTC).</summary>
    private static void WriteCsvRow(CsvHelper.CsvWriter csv, CustomerDetails c)
    {
        csv.WriteField(c.Id, "D");
        csv.WriteField(c.Name);
        csv.WriteField(c.Email);
        csv.WriteField(c.Phone);
        csv.WriteField(c.Company);
        csv.WriteField(c.Status);
        csv.WriteField(string.Join(';', c.Tags));
        csv.WriteField(c.Notes);
        csv.WriteField(c.OwnerUserId, "D");
        csv.WriteField(c.CreatedAt.ToUniversalTime(), "O");
        csv.WriteField(c.UpdatedAt.ToUniversalTime(), "O");
        csv.WriteField(c.Version, "");
    }

    private static CustomerFields ToFields(CustomerBody b) =>
        new(b.Name!, b.Email, b.Phone, b.Company, b.Status ?? CustomerStatuses.Default, b.Tags?.Select(t => t!).ToList() ?? [], b.Notes, b.OwnerUserId);

    // R: the relevance score of the last row (a float, written and read back exactly).
    private sealed record CursorBody(CustomerSort S, string? N, DateTimeOffset? A, Guid I, float? R = null);

    private static string EncodeCursor(CustomerCursor c) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new CursorBody(c.Sort, c.Name, c.At, c.Id, c.Score)));

    private static CustomerCursor? DecodeCursor(string text)
    {
        try
        {
            var body = JsonSerializer.Deserialize<CursorBody>(Base64Url.DecodeFromChars(text));
            var byName = body?.S is CustomerSort.NameAscending or CustomerSort.NameDescending;
            var keyMissing = body?.S == CustomerSort.Relevance ? body.R is not { } r || !float.IsFinite(r) : byName ? body?.N is null : body?.A is null;
            return body is null || !Enum.IsDefined(body.S) || body.I == Guid.Empty || keyMissing
                ? null
                : new CustomerCursor(body.S, body.N, body.A, body.I, body.R);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }
}
