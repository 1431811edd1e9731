using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Errors;

/// <summary>RFC 9457 problem documents with one stable <c>type</c> per kind of error.</summary>
public static class Problems
{
    public const string TypeBase = "https://shohayota.dev/problems/";

    public static ProblemHttpResult From(Failure failure, string? detail) => failure switch
    {
        Failure.NotFound => Create(StatusCodes.Status404NotFound, "not-found", "Not found", detail),
        Failure.Conflict => Create(StatusCodes.Status409Conflict, "conflict", "Conflict", detail),
        Failure.Forbidden => Create(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", detail),
        Failure.Validation => Create(StatusCodes.Status400BadRequest, "validation", "Invalid request", detail),
        Failure.TenantSuspended => Create(StatusCodes.Status403Forbidden, "tenant-suspended", "Tenant suspended", detail),
        Failure.TenantCanceled => Create(StatusCodes.Status403Forbidden, "tenant-canceled", "Tenant canceled (read-only)", detail),
        Failure.TenantDeleted => Create(StatusCodes.Status403Forbidden, "tenant-deleted", "Tenant deleted", detail),
        Failure.UserDisabled => Create(StatusCodes.Status403Forbidden, "user-disabled", "User disabled", detail),
        Failure.InvalidCredentials => Create(StatusCodes.Status401Unauthorized, "invalid-credentials", "Sign-in failed", detail),
        Failure.InvalidToken => Create(StatusCodes.Status401Unauthorized, "invalid-token", "Invalid token", detail),
        Failure.TransitionNotAllowed => Create(StatusCodes.Status409Conflict, "transition-not-allowed", "Transition not allowed", detail),
        Failure.RetentionNotElapsed => Create(StatusCodes.Status409Conflict, "retention-not-elapsed", "Retention period not over", detail),
        Failure.DuplicateEmail => Create(StatusCodes.Status409Conflict, "duplicate-email", "E-mail address in use", detail),
        Failure.PreconditionFailed => Create(StatusCodes.Status412PreconditionFailed, "precondition-failed", "Version mismatch", detail),
        Failure.QuotaExceeded => Create(StatusCodes.Status403Forbidden, "quota-exceeded", "Quota exceeded", detail),
        Failure.RateLimited => Create(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests", detail),
        Failure.ServiceUnavailable => Create(StatusCodes.Status503ServiceUnavailable, "service-unavailable", "Service unavailable", detail),
        Failure.SearchTimeout => Create(StatusCodes.Status503ServiceUnavailable, "search-timeout", "Search timed out", detail),
        Failure.TenantBusy => Create(StatusCodes.Status429TooManyRequests, "tenant-busy", "Tenant busy", detail),
        Failure.SupportAccessDisabled => Create(StatusCodes.Status403Forbidden, "support-access-disabled", "Support access disabled", detail),
        Failure.IdempotencyMismatch => Create(StatusCodes.Status422UnprocessableEntity, "idempotency-key-reused", "Idempotency-Key reused", detail),
        _ => Create(StatusCodes.Status500InternalServerError, "internal-error", "Internal error", "Something went wrong on our side."),
    };

    /// <summary>A failed outcome; quota refusals name the quota, its limit and the usage.</summary>
    public static ProblemHttpResult From<T>(Outcome<T> outcome)
    {
        var problem = From(outcome.Failure, outcome.Detail);
        if (outcome.Quota is { } quota)
        {
            AddQuota(problem.ProblemDetails, quota.Quota, quota.Limit, quota.Used);
        }

        return problem;
    }

    /// <summary>Sets Retry-After (whole seconds, at least 1) on a failure answered 429 or 503; a locked-out 401 does not say so.</summary>
    public static void SetRetryAfter<T>(HttpResponse response, Outcome<T> outcome)
    {
        if (outcome.RetryAfter is { } wait && !outcome.Succeeded &&
            From(outcome.Failure, null).StatusCode is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
        {
            SetRetryAfter(response, wait);
        }
    }

    /// <summary>Retry-After in whole seconds, at least 1.</summary>
    public static void SetRetryAfter(HttpResponse response, TimeSpan wait) =>
        response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    public static void AddQuota(Microsoft.AspNetCore.Mvc.ProblemDetails problem, string? quota, long limit, long used)
    {
        problem.Extensions["quota"] = quota;
        problem.Extensions["limit"] = limit;
        problem.Extensions["used"] = used;
    }

    /// <summary>The kind of a problem known by its status alone: the framework's own (status code pages, 404, 405, 415 …) and authentication's.</summary>
    internal static IReadOnlyDictionary<int, string> StatusKinds { get; } = new Dictionary<int, string>
    {
        [400] = "bad-request",
        [401] = "unauthorized",
        [403] = "forbidden",
        [404] = "not-found",
        [405] = "method-not-allowed",
        [409] = "conflict",
        [413] = "payload-too-large",
        [415] = "unsupported-media-type",
        [429] = "rate-limited",
        [503] = "service-unavailable",
    };

    /// <summary>
    /// Every problem <c>type</c> the API answers (the kind after <see cref="TypeBase"/>) with the statuses it comes with:
    /// those of <see cref="Failure"/> and those the routes, the authentication handlers and the error handler write
    /// themselves. The OpenAPI document lists them; a test checks real problem bodies against that list.
    /// </summary>
    public static IReadOnlyDictionary<int, string[]> KindsByStatus { get; } =
        Enum.GetValues<Failure>().Select(f => From(f, null)).Select(p => (Status: p.StatusCode, Kind: p.ProblemDetails.Type![TypeBase.Length..]))
            .Concat(StatusKinds.Select(k => (Status: k.Key, Kind: k.Value)))
            .Concat(new (int Status, string Kind)[]
            {
                // Written by name where they happen: a body that is not JSON (the error handler), a restore's bundle, an import's file.
                (400, "malformed-request"), (400, "invalid-bundle"), (400, "invalid-csv"), (400, "import-invalid"),
            })
            .GroupBy(k => k.Status)
            .ToDictionary(g => g.Key, g => g.Select(k => k.Kind).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray());

    public static ProblemHttpResult Create(int status, string kind, string title, string? detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypeBase + kind);

    public static FieldProblem Validation(IDictionary<string, string[]> errors) =>
        new(TypedResults.ValidationProblem(errors, detail: "One or more fields are invalid.", title: "Invalid request", type: TypeBase + "validation"));
}

/// <summary>
/// A 400 <c>validation</c> problem in a handler's typed results, written exactly as the framework's <see cref="ValidationProblem"/>
/// writes it. Unlike that one it declares no response of its own to the OpenAPI document (a second, unreferenced problem schema):
/// the document gives every route that reads a body or a query its 400 with the one problem schema, which this body fits.
/// </summary>
public sealed class FieldProblem : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IValueHttpResult, IValueHttpResult<HttpValidationProblemDetails>
{
    private readonly ValidationProblem _problem;

    internal FieldProblem(ValidationProblem problem) => _problem = problem;

    public HttpValidationProblemDetails ProblemDetails => _problem.ProblemDetails;

    public int StatusCode => _problem.StatusCode;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string ContentType => _problem.ContentType;

    string? IContentTypeHttpResult.ContentType => ContentType;

    HttpValidationProblemDetails? IValueHttpResult<HttpValidationProblemDetails>.Value => ProblemDetails;

    object? IValueHttpResult.Value => ProblemDetails;

    public Task ExecuteAsync(HttpContext httpContext) => _problem.ExecuteAsync(httpContext);
}

/// <summary>Collects every invalid field of a request, so one problem document lists them all.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    /// <summary>Each invalid field's messages (the web UI shows them next to its fields).</summary>
    public IReadOnlyDictionary<string, string[]> Fields => _errors;

    public FieldErrors Check(string field, string? error)
    {
        if (error is not null)
        {
            _errors[field] = [error];
        }

        return this;
    }

    public FieldProblem ToProblem() => Problems.Validation(_errors);
}
