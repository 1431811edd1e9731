using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Records;
using Shohayota.Grains.Activities;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Activities;

/// <summary>
/// The tenant's notes, tasks, calls and meetings. Same conventions as customers (<see cref="RecordHttp"/>): the tenant is
/// the caller's, from the token; another tenant's id answers like a missing one, and so does another tenant's customer,
/// contact, deal or user named in a body.
/// </summary>
public static class ActivitiesApi
{
    private static readonly HashSet<string> ListParameters = new(StringComparer.Ordinal)
    {
        "type", "assignee", "due", "tz", "done", "customerId", "contactId", "dealId", "sort", "pageSize", "cursor",
    };

    private static readonly Dictionary<string, ActivitySort> Sorts = new(StringComparer.Ordinal)
    {
        ["createdAt"] = ActivitySort.CreatedAtAscending,
        ["-createdAt"] = ActivitySort.CreatedAtDescending,
        ["updatedAt"] = ActivitySort.UpdatedAtAscending,
        ["-updatedAt"] = ActivitySort.UpdatedAtDescending,
        ["dueAt"] = ActivitySort.DueAtAscending,
        ["-dueAt"] = ActivitySort.DueAtDescending,
    };

    private static readonly RecordRoutes<IActivityGrain, ActivityDetails, ActivityFields, ActivityBody, ActivityResponse> Routes = new(
        "activity", "/api/activities", GrainKeys.Activity, ActivityIds.ForIdempotencyKey,
        b => ActivityRules.Check(b.Type, b.Subject, b.Body, b.DueAt, b.CustomerId, b.ContactId, b.DealId, b.Done ?? false), ToFields, ToResponse);

    private static readonly RecordDescriptions Descriptions = new(
        Create: "Creates a note, task, call or meeting about at least one of the tenant's customers, contacts or deals (a note has no `dueAt` " +
            "and is never `done`) → 201 with `Location` and its version as `ETag`; a record or assignee that is not the tenant's is 400 like a " +
            "missing one. An `Idempotency-Key` header (1–200 characters) makes a retry by the same user answer with the activity the first " +
            "request created (the same key with other fields: 422). Counts against the storage quota and is audited as `activity.created`; " +
            "any user of the tenant or an API key.",
        Get: "One activity, with its version as `ETag`. Another tenant's id answers 404 like a missing one; any user of the tenant or an API key.",
        Update: "Replaces every field of an activity → 200 with the new `ETag` (`done` sets or clears `completedAt`); with `If-Match` a stale " +
            "version is 412 `precondition-failed`, and a write that lost a race with another writer is 409 `conflict`. Audited as " +
            "`activity.updated` with the changed fields; another tenant's id is 404 like a missing one; any user of the tenant or an API key.",
        Delete: "Deletes an activity → 204 (`If-Match` optional, 412 when stale); it takes no parameters. Audited as `activity.deleted`; " +
            "another tenant's id is 404 like a missing one; any user of the tenant or an API key.");

    public static IEndpointRouteBuilder MapActivitiesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/activities").WithTags("Activities").RequireAdmission(AuthExtensions.TenantUserPolicy);
        group.MapGet("/", ListActivitiesAsync).Produces<ActivityList>().WithMetadata(new QueryParameters(ListParameters))
            .WithDescription("A page of the tenant's activities, `{items, nextCursor}`, newest first by default: filter by `type`, `assignee` " +
                "(`me` or a user id; an API key must name the user), `done`, `due` (`overdue`, or `today` / `week` in the time zone `tz`), " +
                "`customerId` (with its contacts' and deals' activities), `contactId` and `dealId`; `sort` by `createdAt`, `updatedAt` or `dueAt` " +
                "(`-` for descending); keyset pagination with `pageSize` (≤ 200) and `cursor`. With `Accept: text/csv` it streams every match " +
                "as CSV instead (audited as `activities.exported`). Any user of the tenant or an API key; an unknown, repeated or invalid parameter is 400.");
        Routes.Map(group, Descriptions);
        group.MapPost("/{id:guid}/complete", CompleteAsync).WithMetadata(new ProblemResponses(409, 412))
            .WithDescription("Completes a task, call or meeting (no body, or `{\"done\": true}`) or reopens it (`{\"done\": false}`); a note " +
                "is never done (400). `If-Match` is optional (412 when stale); completing a done activity changes nothing, otherwise it is " +
                "audited as `activity.completed` or `activity.reopened`. Any user of the tenant or an API key; another tenant's activity is 404 " +
                "like a missing one.");
        return routes;
    }

    public sealed record ActivityBody(
        string? Type, string? Subject, string? Body, DateTimeOffset? DueAt, Guid? AssigneeUserId, Guid? CustomerId, Guid? ContactId, Guid? DealId,
        bool? Done);

    public sealed record ActivityResponse(
        Guid Id, string Type, string Subject, string? Body, DateTimeOffset? DueAt, Guid? AssigneeUserId, Guid? CustomerId, Guid? ContactId,
        Guid? DealId, bool Done, DateTimeOffset? CompletedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Version);

    public sealed record ActivityList(IEnumerable<ActivityResponse> Items, string? NextCursor);

    /// <summary>The body of <c>POST …/complete</c>: none (or <c>{"done": true}</c>) completes, <c>{"done": false}</c> reopens.</summary>
    public sealed record CompleteBody(bool? Done);

    public static ActivityResponse ToResponse(ActivityDetails a) =>
        new(a.Id, a.Type, a.Subject, a.Body, a.DueAt, a.AssigneeUserId, a.CustomerId, a.ContactId, a.DealId, a.Done, a.CompletedAt, a.CreatedAt,
            a.UpdatedAt, a.Version);

    private static ActivityFields ToFields(ActivityBody b) =>
        new(b.Type!, b.Subject!, b.Body, b.DueAt, b.AssigneeUserId, b.CustomerId, b.ContactId, b.DealId, b.Done ?? false);

    private static async Task<Results<Ok<ActivityResponse>, FieldProblem, ProblemHttpResult>> CompleteAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        if (!RecordHttp.TryIfMatch(http, out var expected))
        {
            return RecordHttp.Malformed("If-Match", RecordHttp.IfMatchRule);
        }

        // The body is optional: a bare POST completes.
        var done = true;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            CompleteBody? body;
            try
            {
                body = await http.Request.ReadFromJsonAsync<CompleteBody>(http.RequestAborted);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or BadHttpRequestException)
            {
                return RecordHttp.Malformed("done", "The body is optional; when given it is {\"done\": true|false} as JSON.");
            }

            done = body?.Done ?? true;
        }

        var grain = Routes.Grain(grains, http, id);
        if (await grain.GetAsync() is { Type: ActivityTypes.Note })
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["done"] = ["A note is never done: only tasks, calls and meetings are completed."] });
        }

        var outcome = await grain.CompleteAsync(done, expected);
        if (!outcome.Succeeded)
        {
            return outcome.Failure == Failure.NotFound ? Routes.NotFound() : Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Version);
        return TypedResults.Ok(ToResponse(outcome.Value));
    }

    private static async Task<IResult> ListActivitiesAsync(HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, ListParameters);
        string? One(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        var caller = http.User.ToCaller();
        var pageSize = RecordHttp.PageSize(One("pageSize"), errors);
        var customer = RecordHttp.Id("customerId", One("customerId"), errors);
        var contact = RecordHttp.Id("contactId", One("contactId"), errors);
        var deal = RecordHttp.Id("dealId", One("dealId"), errors);
        var type = One("type");
        if (type is not null && !ActivityTypes.All.Contains(type))
        {
            errors.Check("type", "type is one of: note, task, call, meeting.");
        }

        Guid? assignee = null;
        if (One("assignee") is { } assigneeText)
        {
            if (assigneeText == "me")
            {
                if (caller.ApiKey)
                {
                    errors.Check("assignee", "assignee=me names a person; an API key is not one. Give the user's id.");
                }
                else
                {
                    assignee = caller.UserId;
                }
            }
            else
            {
                assignee = RecordHttp.Id("assignee", assigneeText, errors);
            }
        }

        bool? done = One("done") switch
        {
            null => null,
            "true" => true,
            "false" => false,
            _ => Invalid(errors, "done", "done is true or false."),
        };

        var zone = TimeZone(One("tz"), errors);
        var (dueFrom, dueBefore) = DueWindow(One("due"), zone, TimeProvider.System.GetUtcNow(), errors);
        if (One("due") == "overdue")
        {
            // Overdue is what is still to do: a done task is not overdue, whatever its due time.
            if (done == true)
            {
                errors.Check("done", "due=overdue lists what is not done; leave done out or set it to false.");
            }

            done = false;
        }

        var (sort, cursor) = RecordHttp.SortAndCursor(One("sort"), One("cursor"), Sorts, ActivitySort.CreatedAtDescending, DecodeCursor, c => c.Sort, errors);

        var csv = CsvExport.Wanted(http.Request);
        if (csv)
        {
            CsvExport.CheckNoPaging(query, errors);
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var list = grains.GetGrain<IActivityQueryGrain>(GrainKeys.ActivityQuery(caller.TenantId));
        var filter = new ActivityQuery(type, assignee, dueFrom, dueBefore, done, customer, contact, deal, sort, pageSize, cursor);
        if (csv)
        {
            return await CsvExport.StreamAsync<ActivityDetails, ActivityCursor, ActivityPage>(http, "activities", CsvHeader, WriteCsvRow,
                after => list.ListAsync(filter with { PageSize = CsvPageSize, After = after }), page => (page.Items, page.Next),
                new Dictionary<string, string?>
                {
                    ["type"] = type, ["assignee"] = One("assignee"), ["due"] = One("due"), ["tz"] = One("tz"), ["done"] = One("done"),
                    ["customerId"] = customer?.ToString("D"), ["contactId"] = contact?.ToString("D"), ["dealId"] = deal?.ToString("D"),
                    ["sort"] = One("sort"),
                });
        }

        var outcome = await list.ListAsync(filter);
        if (!outcome.Succeeded)
        {
            Problems.SetRetryAfter(http.Response, outcome);
            return Problems.From(outcome);
        }

        var page = outcome.Value!;
        return TypedResults.Ok(new ActivityList(page.Items.Select(ToResponse),
            page.Next is null ? null : RecordHttp.EncodeCursor(new CursorBody(page.Next.Sort, page.Next.At, page.Next.Id))));
    }

    private static bool? Invalid(FieldErrors errors, string field, string message)
    {
        errors.Check(field, message);
        return null;
    }

    /// <summary>The caller's time zone for <c>due=today|week</c> (an IANA name such as Europe/Berlin); UTC when not given.</summary>
    private static TimeZoneInfo TimeZone(string? name, FieldErrors errors)
    {
        if (name is null)
        {
            return TimeZoneInfo.Utc;
        }

        if (name.Length <= 64 && TimeZoneInfo.TryFindSystemTimeZoneById(name, out var zone))
        {
            return zone;
        }

        errors.Check("tz", "tz is an IANA time zone such as Europe/Berlin or America/New_York.");
        return TimeZoneInfo.Utc;
    }

    /// <summary>
    /// <c>due=overdue</c>: due before now; <c>today</c>: due between the start of today and of tomorrow in
    /// <paramref name="zone"/>; <c>week</c>: from the start of today for seven days.
    /// </summary>
    internal static (DateTimeOffset? From, DateTimeOffset? Before) DueWindow(string? due, TimeZoneInfo zone, DateTimeOffset now, FieldErrors errors)
    {
        if (due is null)
        {
            return (null, null);
        }

        if (due == "overdue")
        {
            return (null, now);
        }

        var today = TimeZoneInfo.ConvertTime(now, zone).Date;
        DateTimeOffset StartOf(DateTime day)
        {
            // A day may start in a gap (a zone that springs forward at midnight): the first valid minute after it.
            while (zone.IsInvalidTime(day))
            {
                day = day.AddMinutes(1);
            }

            return new DateTimeOffset(day, zone.GetUtcOffset(day)).ToUniversalTime();
        }

        switch (due)
        {
            case "today":
                return (StartOf(today), StartOf(today.AddDays(1)));
            case "week":
                return (StartOf(today), StartOf(today.AddDays(7)));
            default:
                errors.Check("due", "due is one of: overdue, today, week.");
                return (null, null);
        }
    }

    /// <summary>Rows per page of a CSV export: the list's largest page.</summary>
    private const int CsvPageSize = 200;

    private static readonly string[] CsvHeader =
    [
        "id", "type", "subject", "body", "dueAt", "assigneeUserId", "customerId", "contactId", "dealId", "done", "completedAt", "createdAt",
        "updatedAt", "version",
    ];

    /// <summary>One activity as a CSV record; times in ISO 8601 (UTC).</summary>
    private static void WriteCsvRow(CsvHelper.CsvWriter csv, ActivityDetails a)
    {
        csv.WriteField(a.Id, "D");
        csv.WriteField(a.Type);
        csv.WriteField(a.Subject);
        csv.WriteField(a.Body);
        csv.WriteField(a.DueAt?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        csv.WriteField(a.AssigneeUserId, "D");
        csv.WriteField(a.CustomerId, "D");
        csv.WriteField(a.ContactId, "D");
        csv.WriteField(a.DealId, "D");
        csv.WriteField(a.Done ? "true" : "false");
        csv.WriteField(a.CompletedAt?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        csv.WriteField(a.CreatedAt.ToUniversalTime(), "O");
        csv.WriteField(a.UpdatedAt.ToUniversalTime(), "O");
        csv.WriteField(a.Version, "");
    }

    private sealed record CursorBody(ActivitySort S, DateTimeOffset A, Guid I);

    private static ActivityCursor? DecodeCursor(string text) =>
        RecordHttp.DecodeCursor<CursorBody>(text) is { } body && Enum.IsDefined(body.S) && body.I != Guid.Empty && body.A != default
            ? new ActivityCursor(body.S, body.A, body.I)
            : null;
}
