using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Npgsql;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Errors;

public static class ErrorHandlingExtensions
{
    public const long MaxJsonBodyBytes = 1024 * 1024;

    public static WebApplicationBuilder AddShohayotaErrors(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            // The framework's own problems (status code pages: 404, 405, 415, …) arrive typed with RFC 9110 links; ours replace them.
            if (c.ProblemDetails.Type?.StartsWith(Problems.TypeBase, StringComparison.Ordinal) != true)
            {
                c.ProblemDetails.Type = Problems.TypeBase + KindOf(c.ProblemDetails.Status);
            }

            c.ProblemDetails.Extensions["requestId"] = c.HttpContext.TraceIdentifier;
            // A body refused as too large is left unread, so the connection cannot serve another request: say so, and
            // the client opens a new one instead of sending its next request down a connection the server then closes.
            if (c.ProblemDetails.Status == StatusCodes.Status413PayloadTooLarge)
            {
                c.HttpContext.Response.Headers.Connection = "close";
            }
        });
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.PropertyNameCaseInsensitive = true);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxJsonBodyBytes);
        return builder;
    }

    public static WebApplication UseShohayotaErrors(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    private static string KindOf(int? status) =>
        status is { } code && Problems.StatusKinds.TryGetValue(code, out var kind) ? kind : "internal-error";
}

/// <summary>Turns exceptions into problem documents: client mistakes are 4xx, outages 503, never a stack trace.</summary>
internal sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, kind, title, detail) = exception switch
        {
            BadHttpRequestException { StatusCode: 413 } => (413, "payload-too-large", "Payload too large",
                $"The request body is larger than the {ErrorHandlingExtensions.MaxJsonBodyBytes / 1024} KiB this endpoint accepts."),
            BadHttpRequestException { InnerException: System.Text.Json.JsonException } => (400, "malformed-request", "Malformed JSON",
                "The request body is not valid JSON for this endpoint."),
            System.Text.Json.JsonException => (400, "malformed-request", "Malformed JSON", "The request body is not valid JSON for this endpoint."),
            BadHttpRequestException bad => (bad.StatusCode, "bad-request", "Bad request", "The request could not be read."),
            TenantAccessDeniedException { Failure: Failure.NotFound } => (404, "not-found", "Not found", "Not found."),
            TenantAccessDeniedException denied => ToStatus(denied),
            PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } => (403, "forbidden", "Forbidden", "Not allowed."),
            PostgresException postgres when !IsOutage(postgres) => (500, "internal-error", "Internal error", "Something went wrong on our side."),
            NpgsqlException or TimeoutException or Grains.Interfaces.Audit.AuditUnavailableException =>
                (503, "service-unavailable", "Service unavailable", "A backing service is unavailable; retry shortly."),
            _ when SiloFailures.IsSiloGone(exception) => (503, "service-unavailable", "Service unavailable", "A backing service is unavailable; retry shortly."),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "client-closed", "Client closed request", null),
            _ => (500, "internal-error", "Internal error", "Something went wrong on our side."),
        };

        if (exception is PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } || exception is TenantAccessDeniedException)
        {
            // Layer 2 (grain filter) or 3 (row-level security) refused the request: a security event with who tried what.
            logger.LogWarning(
                "Security: request refused by tenant isolation: {Method} {Path} by user {UserId} of tenant {TenantId} ({Reason})",
                context.Request.Method, context.Request.Path, context.User.FindFirst("sub")?.Value ?? "anonymous",
                context.User.FindFirst("tid")?.Value ?? "none", exception.Message);
        }

        if (status >= 500)
        {
            logger.LogError(exception, "Request {Method} {Path} failed with {Status}", context.Request.Method, context.Request.Path, status);
        }

        if (status == 503)
        {
            context.Response.Headers.RetryAfter = "5";
        }

        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Type = Problems.TypeBase + kind, Title = title, Detail = detail },
        });
    }

    // Connection failures, server shutdown and "too many connections" are outages worth retrying; the rest are bugs.
    private static bool IsOutage(PostgresException e) =>
        e.SqlState.StartsWith("08", StringComparison.Ordinal) || e.SqlState.StartsWith("57P", StringComparison.Ordinal) ||
        e.SqlState == PostgresErrorCodes.TooManyConnections || e.SqlState == PostgresErrorCodes.CannotConnectNow;

    private static (int, string, string, string?) ToStatus(TenantAccessDeniedException denied)
    {
        var problem = Problems.From(denied.Failure, denied.Message).ProblemDetails;
        return (problem.Status ?? 403, problem.Type![Problems.TypeBase.Length..], problem.Title ?? "Forbidden", problem.Detail);
    }
}
