using System.Security.Cryptography;
using System.Text;
using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Webhooks;

/// <summary>A tenant's webhook as listed: never its secret.</summary>
[GenerateSerializer, Immutable, Alias("WebhookDetails")]
public sealed record WebhookDetails(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Url,
    [property: Id(2)] IReadOnlyList<string> Events,
    [property: Id(3)] bool Active,
    [property: Id(4)] string SecretPrefix,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset UpdatedAt,
    [property: Id(7)] DateTimeOffset? PreviousSecretUntil,
    [property: Id(8)] DateTimeOffset? DisabledAt,
    [property: Id(9)] string? DisabledReason,
    [property: Id(10)] int Version = 1)
{
    /// <summary>As the API and the UI show it: <c>disabled</c> (by failed deliveries), <c>active</c> or <c>paused</c>.</summary>
    public string Status => DisabledAt is not null ? "disabled" : Active ? "active" : "paused";
}

/// <summary>
/// What a tenant admin sets on a webhook (create and replace); a replace with <paramref name="ExpectedVersion"/> is refused
/// (PreconditionFailed) when the webhook changed since that version.
/// </summary>
[GenerateSerializer, Immutable, Alias("WebhookRequest")]
public sealed record WebhookRequest(
    [property: Id(0)] string Url,
    [property: Id(1)] IReadOnlyList<string> Events,
    [property: Id(2)] bool Active,
    [property: Id(3)] int? ExpectedVersion = null);

/// <summary>A webhook just created, or its secret just rotated: the secret is in this answer and nowhere else, ever.</summary>
[GenerateSerializer, Immutable, Alias("WebhookWithSecret")]
public sealed record WebhookWithSecret(
    [property: Id(0)] WebhookDetails Webhook,
    [property: Id(1)] string Secret);

/// <summary>One event's delivery to one webhook, with its latest attempt.</summary>
[GenerateSerializer, Immutable, Alias("WebhookDelivery")]
public sealed record WebhookDelivery(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid EventId,
    [property: Id(2)] string EventType,
    [property: Id(3)] string Status,
    [property: Id(4)] int Attempts,
    [property: Id(5)] int? LastStatusCode,
    [property: Id(6)] string? LastError,
    [property: Id(7)] int? LastDurationMs,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset? NextAttemptAt,
    [property: Id(10)] DateTimeOffset? FinishedAt);

/// <summary>
/// One per tenant (<see cref="GrainKeys.Webhooks"/>): the single writer of the tenant's webhooks, each change audited in
/// the same transaction. Tenant admins signed in as people manage them (an API key or a support session may not: a
/// webhook sends the tenant's data to a URL of the caller's choosing); the system disables one whose deliveries failed
/// for the retry period.
/// </summary>
[Alias("IWebhooksGrain")]
public interface IWebhooksGrain : IGrainWithStringKey
{
    [Alias("List"), ReadOnly]
    Task<Outcome<IReadOnlyList<WebhookDetails>>> ListAsync();

    /// <summary>Registers a webhook; its URL is checked (https, public addresses) before anything is written.</summary>
    [Alias("Create")]
    Task<Outcome<WebhookWithSecret>> CreateAsync(WebhookRequest request);

    /// <summary>Replaces the URL, events and active flag; activating a disabled webhook clears its disabled state.</summary>
    [Alias("Update")]
    Task<Outcome<WebhookDetails>> UpdateAsync(Guid webhookId, WebhookRequest request);

    /// <summary>Removes the webhook with its pending deliveries and its log.</summary>
    [Alias("Delete")]
    Task<Outcome<bool>> DeleteAsync(Guid webhookId);

    /// <summary>A new secret; the previous one still signs beside it for <see cref="WebhookSecret.RotationOverlap"/>.</summary>
    [Alias("RotateSecret")]
    Task<Outcome<WebhookWithSecret>> RotateSecretAsync(Guid webhookId);

    /// <summary>The webhook's latest deliveries, newest first.</summary>
    [Alias("Deliveries"), ReadOnly]
    Task<Outcome<IReadOnlyList<WebhookDelivery>>> DeliveriesAsync(Guid webhookId, int limit);

    /// <summary>Sends a delivery's event again, as a new delivery (the event id is the same: receivers deduplicate by it).</summary>
    [Alias("Redeliver")]
    Task<Outcome<WebhookDelivery>> RedeliverAsync(Guid webhookId, Guid deliveryId);

    /// <summary>The system's: the webhook's deliveries failed for the whole retry period; it is disabled and an alert opens.</summary>
    [Alias("Disable")]
    Task DisableAsync(Guid webhookId, string reason);

    /// <summary>Drops this activation (its rows were just purged or replaced); super-admins and the system only.</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}

/// <summary>The events a webhook can subscribe to: the audit actions they come from, by the same names.</summary>
public static class WebhookEvents
{
    public static readonly IReadOnlyList<string> All =
    [
        "customer.created", "customer.updated", "customer.deleted",
        "contact.created", "contact.updated", "contact.deleted",
        "deal.created", "deal.updated", "deal.stage_changed", "deal.deleted",
        "activity.created", "activity.updated", "activity.completed", "activity.reopened", "activity.deleted",
        "user.created", "user.disabled", "user.enabled",
        "tenant.suspended", "tenant.reactivated", "tenant.canceled",
    ];

    /// <summary>Why an event list is not valid, or null: one or more known events, no duplicates.</summary>
    public static string? Validate(IReadOnlyList<string>? events)
    {
        if (events is null || events.Count == 0)
        {
            return "events must name one or more events.";
        }

        var unknown = events.FirstOrDefault(e => !All.Contains(e));
        if (unknown is not null)
        {
            return $"Unknown event \"{unknown}\"; the events are: {string.Join(", ", All)}.";
        }

        return events.Distinct().Count() == events.Count ? null : "events lists an event twice.";
    }
}

/// <summary>
/// A webhook's signing secret (<c>whsec_</c> and 43 base62 characters, 256 random bits) and the signature a receiver
/// checks: <c>Shohayota-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, t + "." + body)&gt;</c>, with one
/// <c>v1</c> per secret that still signs (two during a rotation's overlap).
/// </summary>
public static class WebhookSecret
{
    public const string Scheme = "whsec_";
    public const int RandomLength = 43;
    public const int PrefixLength = 12;
    public const string SignatureHeader = "Shohayota-Signature";
    public const string EventIdHeader = "Shohayota-Event-Id";
    public const string EventTypeHeader = "Shohayota-Event-Type";
    public static readonly TimeSpan RotationOverlap = TimeSpan.FromHours(24);
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Create() => Scheme + RandomNumberGenerator.GetString(Base62, RandomLength);

    public static string Prefix(string secret) => secret[..PrefixLength];

    /// <summary>The header's value for <paramref name="body"/> sent at <paramref name="timestamp"/>, signed by each secret.</summary>
    public static string Sign(IEnumerable<string> secrets, long timestamp, ReadOnlySpan<byte> body)
    {
        var signed = new byte[Encoding.ASCII.GetByteCount(timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)) + 1 + body.Length];
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        var header = new StringBuilder("t=").Append(timestamp);
        foreach (var secret in secrets)
        {
            header.Append(",v1=").Append(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.ASCII.GetBytes(secret), signed)));
        }

        return header.ToString();
    }
}
