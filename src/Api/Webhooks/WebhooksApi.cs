using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Api.Records;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Webhooks;
using Shohayota.Grains.Webhooks;

namespace Shohayota.Api.Webhooks;

/// <summary>
/// A tenant's webhooks: a tenant admin (signed in as a person) registers URLs that are told of the tenant's changes,
/// sees their delivery log and redelivers. The signing secret is in the answers of creation and rotation only.
/// </summary>
public static class WebhooksApi
{
    private const string Who = "A tenant admin signed in as themselves; never an API key or a support session (403).";

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/webhooks").WithTags("Webhooks").RequireAdmission(AuthExtensions.TenantAdminInPersonPolicy);
        group.MapGet("/", ListAsync)
            .WithDescription("The tenant's webhooks, without their secrets (the secret's first characters tell them apart), and the event " +
                "types a webhook can subscribe to. " + Who);
        group.MapPost("/", CreateAsync)
            .WithMetadata(new ProblemResponses(409), new RequestExamples(
                ("New and changed customers", """{"url": "https://hooks.example.com/shohayota", "events": ["customer.created", "customer.updated"]}""")))
            .WithDescription("Registers a webhook (`{\"url\", \"events\", \"active\"?}`) → 201 with its signing `secret`, shown this once. The URL " +
                "must be `https` and resolve to public addresses only (loopback, private, link-local and metadata addresses are refused: 400); " +
                "it is checked again on every delivery. At most 10 webhooks per tenant (409 beyond); audited as `webhook.created`. " + Who);
        group.MapGet("/{id:guid}", GetAsync)
            .WithDescription("One of the tenant's webhooks, with its version as `ETag`; another tenant's is 404 like a missing one. " + Who);
        group.MapPut("/{id:guid}", UpdateAsync)
            .WithMetadata(new ProblemResponses(412))
            .WithDescription("Replaces a webhook's `url`, `events` and `active` → the webhook with its new `ETag`; with `If-Match` a stale " +
                "version is 412 `precondition-failed` (another admin changed it meanwhile) and nothing changes. Activating a webhook that was disabled after " +
                "failing deliveries clears its disabled state and its alert; its held deliveries go out again. Audited as `webhook.updated`. " + Who);
        group.MapDelete("/{id:guid}", DeleteAsync)
            .WithDescription("Removes a webhook with its pending deliveries and its delivery log → 204. Audited as `webhook.deleted`. " + Who);
        group.MapPost("/{id:guid}/rotate-secret", RotateAsync)
            .WithDescription("A new signing secret → the webhook with its new `secret`, shown this once. For 24 hours deliveries carry two `v1` " +
                "signatures, by the new secret and the previous one, so receivers can switch without losing events. Audited as " +
                "`webhook.secret_rotated`. " + Who);
        group.MapGet("/{id:guid}/deliveries", DeliveriesAsync)
            .WithDescription("The webhook's latest deliveries, newest first (`limit`, 1 to 100, default 20): event, status (`pending`, " +
                "`succeeded`, `failed`), attempts, the last answer's status code or error, its duration, and the next attempt of a pending one. " + Who);
        group.MapPost("/{id:guid}/deliveries/{deliveryId:guid}/redeliver", RedeliverAsync)
            .WithDescription("Sends a delivery's event again as a new delivery → 202 with it (the event keeps its id, so receivers that " +
                "deduplicate by it see it once). Audited as `webhook.redelivered`. " + Who);
        return routes;
    }

    /// <summary><c>url</c>: https, public addresses; <c>events</c>: one or more event types; <c>active</c>: default true.</summary>
    public sealed record WebhookBody(string? Url, IReadOnlyList<string>? Events, bool? Active);

    public sealed record WebhookResponse(
        Guid Id, string Url, IReadOnlyList<string> Events, bool Active, string Status, string SecretPrefix, DateTimeOffset CreatedAt,
        DateTimeOffset UpdatedAt, DateTimeOffset? PreviousSecretValidUntil, DateTimeOffset? DisabledAt, string? DisabledReason, int Version);

    /// <summary>A webhook with its secret: the answer of creation and rotation, and the only place the secret ever appears.</summary>
    public sealed record WebhookWithSecretResponse(
        Guid Id, string Url, IReadOnlyList<string> Events, bool Active, string Status, string SecretPrefix, DateTimeOffset CreatedAt,
        DateTimeOffset UpdatedAt, DateTimeOffset? PreviousSecretValidUntil, int Version, string Secret);

    public sealed record WebhookList(IReadOnlyList<WebhookResponse> Items, IReadOnlyList<string> EventTypes);

    public sealed record DeliveryResponse(
        Guid Id, Guid EventId, string EventType, string Status, int Attempts, int? LastStatusCode, string? LastError, int? LastDurationMs,
        DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt, DateTimeOffset? FinishedAt);

    public sealed record DeliveryList(IReadOnlyList<DeliveryResponse> Items);

    private static WebhookResponse ToResponse(WebhookDetails w) =>
        new(w.Id, w.Url, w.Events, w.Active, w.Status, w.SecretPrefix, w.CreatedAt, w.UpdatedAt, w.PreviousSecretUntil, w.DisabledAt, w.DisabledReason, w.Version);

    private static WebhookWithSecretResponse ToResponse(WebhookWithSecret created)
    {
        var w = created.Webhook;
        return new(w.Id, w.Url, w.Events, w.Active, w.Status, w.SecretPrefix, w.CreatedAt, w.UpdatedAt, w.PreviousSecretUntil, w.Version, created.Secret);
    }

    private static DeliveryResponse ToResponse(WebhookDelivery d) =>
        new(d.Id, d.EventId, d.EventType, d.Status, d.Attempts, d.LastStatusCode, d.LastError, d.LastDurationMs, d.CreatedAt, d.NextAttemptAt, d.FinishedAt);

    private static IWebhooksGrain Webhooks(IGrainFactory grains, HttpContext http) =>
        grains.GetGrain<IWebhooksGrain>(GrainKeys.Webhooks(http.User.ToCaller().TenantId));

    private static async Task<Results<Ok<WebhookList>, ProblemHttpResult>> ListAsync(HttpContext http, IGrainFactory grains)
    {
        var outcome = await Webhooks(grains, http).ListAsync();
        return outcome.Succeeded ? TypedResults.Ok(new WebhookList(outcome.Value!.Select(ToResponse).ToList(), WebhookEvents.All)) : Problems.From(outcome);
    }

    private static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> GetAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Webhooks(grains, http).ListAsync();
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        if (outcome.Value!.FirstOrDefault(w => w.Id == id) is not { } webhook)
        {
            return Problems.From(Failure.NotFound, "No such webhook.");
        }

        http.Response.Headers.ETag = RecordHttp.ETag(webhook.Version);
        return TypedResults.Ok(ToResponse(webhook));
    }

    private static async Task<Results<Created<WebhookWithSecretResponse>, FieldProblem, ProblemHttpResult>> CreateAsync(
        WebhookBody body, HttpContext http, IGrainFactory grains, IOptions<WebhookOptions> options)
    {
        if (Check(body, options.Value) is { } invalid)
        {
            return invalid;
        }

        var outcome = await Webhooks(grains, http).CreateAsync(new WebhookRequest(body.Url!, body.Events!, body.Active ?? true));
        if (!outcome.Succeeded)
        {
            return UrlProblem(outcome) is { } url ? url : Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Webhook.Version);
        return TypedResults.Created($"/api/webhooks/{outcome.Value.Webhook.Id}", ToResponse(outcome.Value));
    }

    private static async Task<Results<Ok<WebhookResponse>, FieldProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, WebhookBody body, HttpContext http, IGrainFactory grains, IOptions<WebhookOptions> options)
    {
        if (!RecordHttp.TryIfMatch(http, out var expected))
        {
            return RecordHttp.Malformed("If-Match", RecordHttp.IfMatchRule);
        }

        if (Check(body, options.Value) is { } invalid)
        {
            return invalid;
        }

        var outcome = await Webhooks(grains, http).UpdateAsync(id, new WebhookRequest(body.Url!, body.Events!, body.Active ?? true, expected));
        if (!outcome.Succeeded)
        {
            return UrlProblem(outcome) is { } url ? url : Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Version);
        return TypedResults.Ok(ToResponse(outcome.Value));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Webhooks(grains, http).DeleteAsync(id);
        return outcome.Succeeded ? TypedResults.NoContent() : Problems.From(outcome);
    }

    private static async Task<Results<Ok<WebhookWithSecretResponse>, ProblemHttpResult>> RotateAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Webhooks(grains, http).RotateSecretAsync(id);
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Webhook.Version);
        return TypedResults.Ok(ToResponse(outcome.Value));
    }

    private static async Task<Results<Ok<DeliveryList>, FieldProblem, ProblemHttpResult>> DeliveriesAsync(
        Guid id, HttpContext http, IGrainFactory grains, string? limit)
    {
        var count = 20;
        if (limit is not null && !(int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) && count is >= 1 and <= 100))
        {
            return new FieldErrors().Check("limit", "limit must be a whole number from 1 to 100.").ToProblem();
        }

        var outcome = await Webhooks(grains, http).DeliveriesAsync(id, count);
        return outcome.Succeeded ? TypedResults.Ok(new DeliveryList(outcome.Value!.Select(ToResponse).ToList())) : Problems.From(outcome);
    }

    private static async Task<Results<Accepted<DeliveryResponse>, ProblemHttpResult>> RedeliverAsync(
        Guid id, Guid deliveryId, HttpContext http, IGrainFactory grains)
    {
        var outcome = await Webhooks(grains, http).RedeliverAsync(id, deliveryId);
        return outcome.Succeeded
            ? TypedResults.Accepted($"/api/webhooks/{id}/deliveries", ToResponse(outcome.Value!))
            : Problems.From(outcome);
    }

    /// <summary>The body's own rules, by field, before the grain resolves the URL's host.</summary>
    private static FieldProblem? Check(WebhookBody body, WebhookOptions options)
    {
        var errors = new FieldErrors()
            .Check("url", WebhookTargets.UrlRefusal(body.Url, options.AllowInsecureLocalTargets, out _))
            .Check("events", WebhookEvents.Validate(body.Events));
        return errors.Any ? errors.ToProblem() : null;
    }

    /// <summary>The grain's remaining validation is the URL's resolution: answered as the url field's error.</summary>
    private static FieldProblem? UrlProblem<T>(Outcome<T> outcome) =>
        outcome.Failure == Failure.Validation ? new FieldErrors().Check("url", outcome.Detail).ToProblem() : null;
}
