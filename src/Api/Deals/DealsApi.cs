using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.CustomFields;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Records;
using Shohayota.Grains.Deals;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Api.Deals;

/// <summary>
/// The tenant's deals and its pipeline. Same conventions as customers (<see cref="RecordHttp"/>): the tenant is the
/// caller's, from the token; another tenant's id answers like a missing one, and so does another tenant's customer,
/// contact, stage or user named in a body.
/// </summary>
public static class DealsApi
{
    private static readonly HashSet<string> ListParameters = new(StringComparer.Ordinal)
    {
        "stageId", "status", "customerId", "contactId", "ownerUserId", "closingBefore", "sort", "pageSize", "cursor",
    };

    private static readonly HashSet<string> NoParameters = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, DealSort> Sorts = new(StringComparer.Ordinal)
    {
        ["createdAt"] = DealSort.CreatedAtAscending,
        ["-createdAt"] = DealSort.CreatedAtDescending,
        ["updatedAt"] = DealSort.UpdatedAtAscending,
        ["-updatedAt"] = DealSort.UpdatedAtDescending,
        ["expectedCloseDate"] = DealSort.ExpectedCloseDateAscending,
        ["-expectedCloseDate"] = DealSort.ExpectedCloseDateDescending,
        ["amount"] = DealSort.AmountAscending,
        ["-amount"] = DealSort.AmountDescending,
    };

    private static readonly RecordRoutes<IDealGrain, DealDetails, DealFields, DealBody, DealResponse> Routes = new(
        "deal", "/api/deals", GrainKeys.Deal, DealIds.ForIdempotencyKey,
        b => DealRules.Check(b.Name, b.CustomerId, b.ContactIds, b.Amount, b.Currency), ToFields, ToResponse,
        new(CustomFieldRecordTypes.Deals, b => b.CustomFields, (f, values) => f with { CustomFields = values }), cascades: true);

    private static readonly RecordDescriptions Descriptions = new(
        Create: "Creates a deal with one of the tenant's customers (`amount` exact to 4 decimals, an ISO 4217 `currency`; without `stageId` " +
            "it starts in the pipeline's first open stage) → 201 with `Location` and its version as `ETag`; a customer, contact, stage or owner " +
            "that is not the tenant's is 400 like a missing one. An `Idempotency-Key` header (1–200 characters) makes a retry by the same user " +
            "answer with the deal the first request created (the same key with other fields: 422). Counts against the storage quota and is " +
            "audited as `deal.created`; any user of the tenant or an API key.",
        Get: "One deal, with its version as `ETag`. Another tenant's id answers 404 like a missing one; any user of the tenant or an API key.",
        Update: "Replaces every field of a deal → 200 with the new `ETag` (without `stageId` it goes back to the first open stage; its status " +
            "is its stage's kind); with `If-Match` a stale version is 412 `precondition-failed`, and a write that lost a race with another " +
            "writer is 409 `conflict`. Audited as `deal.updated` with the changed fields; another tenant's id is 404 like a missing one; any " +
            "user of the tenant or an API key.",
        Delete: "Deletes a deal with its contact links → 204 (`If-Match` optional, 412 when stale). One with activities is 409 naming their " +
            "count, unless `?cascade=true` removes them with it, each with its own audit entry. Audited as `deal.deleted`; another tenant's id " +
            "is 404 like a missing one; any user of the tenant or an API key.");

    public static IEndpointRouteBuilder MapDealsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/deals").WithTags("Deals").RequireAdmission(AuthExtensions.TenantUserPolicy);
        group.MapGet("/", ListDealsAsync).Produces<DealList>().WithMetadata(new QueryParameters(ListParameters))
            .WithDescription("A page of the tenant's deals, `{items, nextCursor}`, newest first by default: filter by `stageId`, `status` " +
                "(`open`, `won`, `lost`), `customerId`, `contactId`, `ownerUserId`, `closingBefore` (a date) and custom fields (`cf.{key}=value`); " +
                "`sort` by `createdAt`, `updatedAt`, `expectedCloseDate` or `amount` (`-` for descending); keyset pagination with `pageSize` " +
                "(≤ 200) and `cursor`. With `Accept: text/csv` it streams every match as CSV instead (audited as `deals.exported`; one export " +
                "per tenant and node at a time, else 429). Any user of the tenant or an API key; an unknown, repeated or invalid parameter is 400.");
        Routes.Map(group, Descriptions);
        group.MapPost("/{id:guid}/stage", MoveAsync).WithMetadata(new ProblemResponses(409, 412))
            .WithDescription("Moves a deal to another stage of the pipeline (`{\"stageId\"}`): its status becomes the stage's kind, and " +
                "`closedAt` is set when it closes as won or lost and cleared when it reopens. `If-Match` is optional (412 when stale); moving a " +
                "deal to the stage it is in changes nothing, any other move is audited as `deal.stage_changed`. Any user of the tenant or an " +
                "API key; another tenant's deal is 404 like a missing one, another tenant's stage 400 like an unknown one.");

        routes.MapGroup("/api/pipeline").WithTags("Deals").RequireAdmission(AuthExtensions.TenantUserPolicy)
            .MapGet("/", PipelineAsync).WithMetadata(new QueryParameters(NoParameters))
            .WithDescription("The tenant's pipeline: its stages in order, each with its kind (`open`, `won` or `lost`), probability, number of " +
                "deals and their totals per currency (a new tenant's six default stages are made on first use). Any user of the tenant or an " +
                "API key; takes no parameters.");
        routes.MapGroup("/api/pipeline/stages").WithTags("Deals").RequireAdmission(AuthExtensions.TenantAdminPolicy)
            .MapPut("/", ReplaceStagesAsync).WithMetadata(new ProblemResponses(409))
            .WithDescription("Replaces the ordered stage list (`{\"stages\": [{\"id\"?, \"name\", \"kind\", \"probability\"}], \"moveTo\"?}`): " +
                "a stage with an `id` keeps it and its deals, one without is new, one left out is removed; answers like `GET /api/pipeline`. A " +
                "removed stage that holds deals is 409 unless `moveTo` names a stage that stays (they move there), and so is changing the kind " +
                "of a stage that holds deals; audited as `pipeline.updated`. Tenant admins (or an admin API key) only.");
        return routes;
    }

    public sealed record DealBody(
        string? Name, Guid? CustomerId, List<Guid>? ContactIds, decimal? Amount, string? Currency, Guid? StageId, DateOnly? ExpectedCloseDate,
        Guid? OwnerUserId, JsonElement? CustomFields = null);

    public sealed record DealResponse(
        Guid Id, string Name, Guid CustomerId, IReadOnlyList<Guid> ContactIds, decimal Amount, string Currency, Guid StageId, string Status,
        DateOnly? ExpectedCloseDate, Guid? OwnerUserId, DateTimeOffset? ClosedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Version,
        JsonElement CustomFields);

    public sealed record DealList(IEnumerable<DealResponse> Items, string? NextCursor);

    public sealed record StageMove(Guid? StageId);

    public sealed record StageBody(Guid? Id, string? Name, string? Kind, int? Probability);

    public sealed record StagesBody(List<StageBody?>? Stages, Guid? MoveTo);

    public sealed record TotalResponse(string Currency, decimal Amount);

    public sealed record StageResponse(Guid Id, string Name, string Kind, int Probability, int Count, IReadOnlyList<TotalResponse> Totals);

    public sealed record PipelineResponse(IReadOnlyList<StageResponse> Stages);

    public static DealResponse ToResponse(DealDetails d) =>
        new(d.Id, d.Name, d.CustomerId, d.ContactIds, d.Amount, d.Currency, d.StageId, d.Status, d.ExpectedCloseDate, d.OwnerUserId, d.ClosedAt,
            d.CreatedAt, d.UpdatedAt, d.Version, CustomFieldsApi.Values(d.CustomFields));

    private static DealFields ToFields(DealBody b) =>
        new(b.Name!, b.CustomerId!.Value, b.ContactIds ?? [], b.Amount!.Value, b.Currency!, b.StageId, b.ExpectedCloseDate, b.OwnerUserId);

    private static async Task<Results<Ok<DealResponse>, FieldProblem, ProblemHttpResult>> MoveAsync(Guid id, StageMove body, HttpContext http, IGrainFactory grains)
    {
        if (!RecordHttp.TryIfMatch(http, out var expected))
        {
            return RecordHttp.Malformed("If-Match", RecordHttp.IfMatchRule);
        }

        if (body.StageId is not { } stage || stage == Guid.Empty)
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["stageId"] = ["stageId is required: the stage the deal moves to."] });
        }

        var outcome = await Routes.Grain(grains, http, id).MoveToStageAsync(stage, expected);
        if (!outcome.Succeeded)
        {
            return outcome.Failure == Failure.NotFound ? Routes.NotFound() : Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Version);
        return TypedResults.Ok(ToResponse(outcome.Value));
    }

    private static async Task<Results<Ok<PipelineResponse>, FieldProblem>> PipelineAsync(HttpContext http, IGrainFactory grains)
    {
        if (RecordHttp.CheckParameters(http.Request.Query, NoParameters) is { Any: true } errors)
        {
            return errors.ToProblem();
        }

        var summary = await grains.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(http.User.ToCaller().TenantId)).SummaryAsync();
        return TypedResults.Ok(ToResponse(summary));
    }

    public static PipelineResponse ToResponse(IReadOnlyList<StageSummary> summary) => new(summary
        .Select(s => new StageResponse(s.Stage.Id, s.Stage.Name, s.Stage.Kind, s.Stage.Probability, s.Count,
            s.Totals.Select(t => new TotalResponse(t.Currency, t.Amount)).ToArray()))
        .ToArray());

    private static async Task<Results<Ok<PipelineResponse>, FieldProblem, ProblemHttpResult>> ReplaceStagesAsync(StagesBody body, HttpContext http, IGrainFactory grains)
    {
        var stages = body.Stages?.Select(s => s is null ? null : new PipelineStageInput(s.Id, s.Name ?? "", s.Kind ?? "", s.Probability ?? -1)).ToList();
        if (DealRules.CheckStages(stages) is { Count: > 0 } invalid)
        {
            return Problems.Validation(invalid.ToDictionary(e => e.Key, e => new[] { e.Value }));
        }

        var pipeline = grains.GetGrain<IPipelineGrain>(GrainKeys.Pipeline(http.User.ToCaller().TenantId));
        var outcome = await pipeline.ReplaceAsync(stages!.Select(s => s!).ToList(), body.MoveTo);
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        return TypedResults.Ok(ToResponse(await pipeline.SummaryAsync()));
    }

    private static async Task<IResult> ListDealsAsync(HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, ListParameters, customFields: true);
        string? One(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        var pageSize = RecordHttp.PageSize(One("pageSize"), errors);
        var stage = RecordHttp.Id("stageId", One("stageId"), errors);
        var customer = RecordHttp.Id("customerId", One("customerId"), errors);
        var contact = RecordHttp.Id("contactId", One("contactId"), errors);
        var owner = RecordHttp.Id("ownerUserId", One("ownerUserId"), errors);
        var status = One("status");
        if (status is not null && !DealStatuses.All.Contains(status))
        {
            errors.Check("status", "status is one of: open, won, lost.");
        }

        DateOnly? closingBefore = null;
        if (One("closingBefore") is { } dateText)
        {
            if (DateOnly.TryParseExact(dateText, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date))
            {
                closingBefore = date;
            }
            else
            {
                errors.Check("closingBefore", "closingBefore is a date, YYYY-MM-DD.");
            }
        }

        var (sort, cursor) = RecordHttp.SortAndCursor(One("sort"), One("cursor"), Sorts, DealSort.CreatedAtDescending, DecodeCursor, c => c.Sort, errors);
        var customFields = await CustomFieldsApi.FilterAsync(query, grains, http, CustomFieldRecordTypes.Deals, errors);

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
        var list = grains.GetGrain<IDealQueryGrain>(GrainKeys.DealQuery(caller.TenantId));
        var filter = new DealQuery(stage, status, customer, owner, closingBefore, sort, pageSize, cursor, customFields, contact);
        if (csv)
        {
            var definitions = await CustomFieldsApi.DefinitionsAsync(grains, http, CustomFieldRecordTypes.Deals);
            return await CsvExport.StreamAsync<DealDetails, DealCursor, DealPage>(http, "deals", CustomFieldsApi.CsvHeader(CsvHeader, definitions),
                CustomFieldsApi.WithCells<DealDetails>(WriteCsvRow, definitions, d => d.CustomFields),
                after => list.ListAsync(filter with { PageSize = CsvPageSize, After = after }), page => (page.Items, page.Next),
                new Dictionary<string, string?>
                {
                    ["stageId"] = stage?.ToString("D"), ["status"] = status, ["customerId"] = customer?.ToString("D"), ["contactId"] = contact?.ToString("D"),
                    ["ownerUserId"] = owner?.ToString("D"),
                    ["closingBefore"] = One("closingBefore"), ["sort"] = One("sort"),
                }.WithFilters(query));
        }

        var outcome = await list.ListAsync(filter);
        if (!outcome.Succeeded)
        {
            Problems.SetRetryAfter(http.Response, outcome);
            return Problems.From(outcome);
        }

        var page = outcome.Value!;
        return TypedResults.Ok(new DealList(page.Items.Select(ToResponse), page.Next is null ? null : RecordHttp.EncodeCursor(CursorBody.Of(page.Next))));
    }

    /// <summary>Rows per page of a CSV export: the list's largest page.</summary>
    private const int CsvPageSize = 200;

    private static readonly string[] CsvHeader =
    [
        "id", "name", "customerId", "contactIds", "amount", "currency", "stageId", "status", "expectedCloseDate", "ownerUserId", "closedAt", "createdAt",
        "updatedAt", "version",
    ];

    /// <summary>One deal as a CSV record; contact ids joined by <c>;</c>, the amount exact, times in ISO 8601 (UTC).</summary>
    private static void WriteCsvRow(CsvHelper.CsvWriter csv, DealDetails d)
    {
        csv.WriteField(d.Id, "D");
        csv.WriteField(d.Name);
        csv.WriteField(d.CustomerId, "D");
        csv.WriteField(string.Join(';', d.ContactIds.Select(c => c.ToString("D"))));
        csv.WriteField(d.Amount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        csv.WriteField(d.Currency);
        csv.WriteField(d.StageId, "D");
        csv.WriteField(d.Status);
        csv.WriteField(d.ExpectedCloseDate?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        csv.WriteField(d.OwnerUserId, "D");
        csv.WriteField(d.ClosedAt?.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        csv.WriteField(d.CreatedAt.ToUniversalTime(), "O");
        csv.WriteField(d.UpdatedAt.ToUniversalTime(), "O");
        csv.WriteField(d.Version, "");
    }

    private sealed record CursorBody(DealSort S, DateTimeOffset? A, DateOnly? D, decimal? M, Guid I)
    {
        public static CursorBody Of(DealCursor c) => new(c.Sort, c.At, c.Date, c.Amount, c.Id);
    }

    private static DealCursor? DecodeCursor(string text)
    {
        var body = RecordHttp.DecodeCursor<CursorBody>(text);
        if (body is null || !Enum.IsDefined(body.S) || body.I == Guid.Empty)
        {
            return null;
        }

        var valid = body.S switch
        {
            DealSort.AmountAscending or DealSort.AmountDescending => body.M is not null,
            DealSort.ExpectedCloseDateAscending or DealSort.ExpectedCloseDateDescending => body.D is not null,
            _ => body.A is not null,
        };
        return valid ? new DealCursor(body.S, body.A, body.D, body.M, body.I) : null;
    }
}
