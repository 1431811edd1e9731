using System.Net;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Interfaces.Webhooks;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Webhooks;

/// <summary>
/// A tenant's webhooks (<see cref="GrainKeys.Webhooks"/>): the single writer of its <c>webhooks</c> rows, each change
/// audited in the same transaction. Who may do what is decided here, from the signed caller: a tenant admin signed in as
/// a person manages them; an API key or a support session may not (a webhook sends the tenant's data wherever its URL
/// points); the system disables one whose deliveries failed for the whole retry period.
/// </summary>
[GrainType("webhooks")]
public sealed class WebhooksGrain(
    TenantDatabase database, TimeProvider time, WebhookSecretBox box, CallerSigner signer, IOptions<WebhookOptions> options) : Grain, IWebhooksGrain
{
    /// <summary>The most webhooks a tenant registers.</summary>
    public const int MaxWebhooks = 10;

    private const string Columns = "id, url, events, active, secret_prefix, created_at, updated_at, previous_until, disabled_at, disabled_reason, version";

    private Guid _tenantId;
    private List<WebhookDetails> _webhooks = [];

    /// <summary>The alert a disabled webhook opens on its tenant (one per webhook).</summary>
    public static string AlertMetric(Guid webhookId) => $"webhook:{webhookId:D}";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        _webhooks = await database.ReadAsync(_tenantId, TenantDatabase.Statement($"SELECT {Columns} FROM webhooks ORDER BY created_at, id"),
            async reader =>
            {
                var webhooks = new List<WebhookDetails>();
                while (await reader.ReadAsync(cancellationToken))
                {
                    webhooks.Add(Read(reader));
                }

                return webhooks;
            }, cancellationToken: cancellationToken);
    }

    private static WebhookDetails Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetBoolean(3), reader.GetString(4),
        reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6), Optional(reader, 7), Optional(reader, 8),
        reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetInt32(10));

    private static DateTimeOffset? Optional(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    public Task<Outcome<IReadOnlyList<WebhookDetails>>> ListAsync() =>
        Task.FromResult(MayManage()
            ? Outcome<IReadOnlyList<WebhookDetails>>.Ok(_webhooks.ToList())
            : Outcome<IReadOnlyList<WebhookDetails>>.Fail(Failure.Forbidden, Refusal("see")));

    public async Task<Outcome<WebhookWithSecret>> CreateAsync(WebhookRequest request)
    {
        if (!MayManage())
        {
            return Outcome<WebhookWithSecret>.Fail(Failure.Forbidden, Refusal("register"));
        }

        if (await InvalidAsync(request) is { } invalid)
        {
            return Outcome<WebhookWithSecret>.Fail(Failure.Validation, invalid);
        }

        if (_webhooks.Count >= MaxWebhooks)
        {
            return Outcome<WebhookWithSecret>.Fail(Failure.Conflict, $"A tenant registers at most {MaxWebhooks} webhooks; delete one first.");
        }

        var now = time.Now();
        var secret = WebhookSecret.Create();
        var webhook = new WebhookDetails(Guid.NewGuid(), request.Url.Trim(), [.. request.Events], request.Active, WebhookSecret.Prefix(secret), now, now, null, null, null);
        var caller = Caller.Current!;
        await ChangeAsync("Registering the webhook",
            AuditExtensions.Sql(
                """
                INSERT INTO webhooks (tenant_id, id, url, events, active, secret_prefix, secret_enc, created_at, created_by, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)
                """,
                _tenantId, webhook.Id, webhook.Url, webhook.Events.ToArray(), webhook.Active, webhook.SecretPrefix, box.Seal(secret), now, caller.UserId),
            new AuditDraft("webhook.created", "webhook", webhook.Id.ToString("D"),
                Details: AuditChain.Details(new { url = webhook.Url, events = webhook.Events, active = webhook.Active, secretPrefix = webhook.SecretPrefix })));
        _webhooks.Add(webhook);
        return Outcome<WebhookWithSecret>.Ok(new WebhookWithSecret(webhook, secret));
    }

    public async Task<Outcome<WebhookDetails>> UpdateAsync(Guid webhookId, WebhookRequest request)
    {
        if (!MayManage())
        {
            return Outcome<WebhookDetails>.Fail(Failure.Forbidden, Refusal("change"));
        }

        var index = _webhooks.FindIndex(w => w.Id == webhookId);
        if (index < 0)
        {
            return Outcome<WebhookDetails>.Fail(Failure.NotFound, "No such webhook.");
        }

        if (await InvalidAsync(request) is { } invalid)
        {
            return Outcome<WebhookDetails>.Fail(Failure.Validation, invalid);
        }

        var before = _webhooks[index];
        if (request.ExpectedVersion is { } expected && expected != before.Version)
        {
            return Outcome<WebhookDetails>.Fail(Failure.PreconditionFailed,
                $"The webhook changed since version {expected}; it is at version {before.Version}. Read it again and repeat the change.");
        }

        var now = time.Now();
        // Activating a disabled webhook is the admin's answer to its alert: the disabled state and the alert clear.
        var enabled = request.Active && before.DisabledAt is not null;
        var after = before with
        {
            Url = request.Url.Trim(),
            Events = [.. request.Events],
            Active = request.Active,
            UpdatedAt = now,
            DisabledAt = enabled ? null : before.DisabledAt,
            DisabledReason = enabled ? null : before.DisabledReason,
            Version = before.Version + 1,
        };
        await ChangeAsync("Changing the webhook",
            AuditExtensions.Sql(
                "UPDATE webhooks SET url = $2, events = $3, active = $4, updated_at = $5, disabled_at = $6, disabled_reason = $7, version = version + 1 WHERE id = $1",
                webhookId, after.Url, after.Events.ToArray(), after.Active, now, after.DisabledAt, after.DisabledReason),
            new AuditDraft("webhook.updated", "webhook", webhookId.ToString("D"), Details: AuditChain.Details(new
            {
                version = after.Version,
                url = after.Url,
                events = after.Events,
                active = after.Active,
                previous = new { url = before.Url, events = before.Events, active = before.Active },
            })));
        _webhooks[index] = after;
        if (enabled)
        {
            await ClearAlertAsync(webhookId);
        }

        return Outcome<WebhookDetails>.Ok(after);
    }

    public async Task<Outcome<bool>> DeleteAsync(Guid webhookId)
    {
        if (!MayManage())
        {
            return Outcome<bool>.Fail(Failure.Forbidden, Refusal("delete"));
        }

        var webhook = _webhooks.FirstOrDefault(w => w.Id == webhookId);
        if (webhook is null)
        {
            return Outcome<bool>.Fail(Failure.NotFound, "No such webhook.");
        }

        // Its deliveries go with it (ON DELETE CASCADE); events no other webhook still owes are pruned with the log.
        await ChangeAsync("Deleting the webhook",
            AuditExtensions.Sql("DELETE FROM webhooks WHERE id = $1", webhookId),
            new AuditDraft("webhook.deleted", "webhook", webhookId.ToString("D"), Details: AuditChain.Details(new { url = webhook.Url, events = webhook.Events })));
        _webhooks.Remove(webhook);
        if (webhook.DisabledAt is not null)
        {
            await ClearAlertAsync(webhookId);
        }

        return Outcome<bool>.Ok(true);
    }

    public async Task<Outcome<WebhookWithSecret>> RotateSecretAsync(Guid webhookId)
    {
        if (!MayManage())
        {
            return Outcome<WebhookWithSecret>.Fail(Failure.Forbidden, Refusal("rotate the secrets of"));
        }

        var index = _webhooks.FindIndex(w => w.Id == webhookId);
        if (index < 0)
        {
            return Outcome<WebhookWithSecret>.Fail(Failure.NotFound, "No such webhook.");
        }

        var now = time.Now();
        var until = now + WebhookSecret.RotationOverlap;
        var secret = WebhookSecret.Create();
        var after = _webhooks[index] with
        {
            SecretPrefix = WebhookSecret.Prefix(secret), PreviousSecretUntil = until, UpdatedAt = now, Version = _webhooks[index].Version + 1,
        };
        // The current secret becomes the previous one, which signs beside the new one until the overlap ends.
        await ChangeAsync("Rotating the webhook's secret",
            AuditExtensions.Sql(
                """
                UPDATE webhooks SET previous_secret_enc = secret_enc, previous_until = $2, secret_enc = $3, secret_prefix = $4, updated_at = $5,
                                    version = version + 1
                WHERE id = $1
                """,
                webhookId, until, box.Seal(secret), after.SecretPrefix, now),
            new AuditDraft("webhook.secret_rotated", "webhook", webhookId.ToString("D"),
                Details: AuditChain.Details(new { secretPrefix = after.SecretPrefix, previousValidUntil = until })));
        _webhooks[index] = after;
        return Outcome<WebhookWithSecret>.Ok(new WebhookWithSecret(after, secret));
    }

    public async Task<Outcome<IReadOnlyList<WebhookDelivery>>> DeliveriesAsync(Guid webhookId, int limit)
    {
        if (!MayManage())
        {
            return Outcome<IReadOnlyList<WebhookDelivery>>.Fail(Failure.Forbidden, Refusal("see the deliveries of"));
        }

        if (_webhooks.All(w => w.Id != webhookId))
        {
            return Outcome<IReadOnlyList<WebhookDelivery>>.Fail(Failure.NotFound, "No such webhook.");
        }

        var deliveries = await ReadDeliveriesAsync("d.webhook_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2", webhookId, Math.Clamp(limit, 1, 100));
        return Outcome<IReadOnlyList<WebhookDelivery>>.Ok(deliveries);
    }

    public async Task<Outcome<WebhookDelivery>> RedeliverAsync(Guid webhookId, Guid deliveryId)
    {
        if (!MayManage())
        {
            return Outcome<WebhookDelivery>.Fail(Failure.Forbidden, Refusal("redeliver the events of"));
        }

        if (_webhooks.All(w => w.Id != webhookId) ||
            (await ReadDeliveriesAsync("d.webhook_id = $1 AND d.id = $2", webhookId, deliveryId)).FirstOrDefault() is not { } original)
        {
            return Outcome<WebhookDelivery>.Fail(Failure.NotFound, "No such delivery.");
        }

        var id = Guid.NewGuid();
        await ChangeAsync("Redelivering the event",
            AuditExtensions.Sql(
                """
                INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_seq, record_key, status, next_attempt_at, created_at)
                SELECT tenant_id, $3, webhook_id, event_id, event_seq, record_key, 'pending', $4, $4
                FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2
                """,
                webhookId, deliveryId, id, time.Now()),
            new AuditDraft("webhook.redelivered", "webhook", webhookId.ToString("D"),
                Details: AuditChain.Details(new { eventId = original.EventId, eventType = original.EventType, deliveryId = id, redelivers = deliveryId })));
        return Outcome<WebhookDelivery>.Ok((await ReadDeliveriesAsync("d.webhook_id = $1 AND d.id = $2", webhookId, id))[0]);
    }

    public async Task DisableAsync(Guid webhookId, string reason)
    {
        if (Caller.Current is not { Role: Roles.System })
        {
            throw new TenantAccessDeniedException(Failure.Forbidden, "Only the system disables a webhook.");
        }

        var index = _webhooks.FindIndex(w => w.Id == webhookId);
        if (index < 0 || _webhooks[index].DisabledAt is not null)
        {
            return;
        }

        var now = time.Now();
        var after = _webhooks[index] with { Active = false, DisabledAt = now, DisabledReason = reason, UpdatedAt = now, Version = _webhooks[index].Version + 1 };
        await ChangeAsync("Disabling the webhook",
            AuditExtensions.Sql("UPDATE webhooks SET active = false, disabled_at = $2, disabled_reason = $3, updated_at = $2, version = version + 1 WHERE id = $1", webhookId, now, reason),
            new AuditDraft("webhook.disabled", "webhook", webhookId.ToString("D"), Details: AuditChain.Details(new { url = after.Url, reason })));
        _webhooks[index] = after;
        await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(_tenantId)).SetAlertAsync(AlertMetric(webhookId),
            $"Webhook {after.Url} was disabled: {reason} Fix the endpoint, then activate the webhook again (Settings → Webhooks).");
    }

    public Task ForgetAsync()
    {
        if (Caller.Current is { IsSuperAdmin: true, InPerson: true })
        {
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }

    private async Task ClearAlertAsync(Guid webhookId)
    {
        // The tenant grain takes alerts from the system only: the admin's change is done, clearing its alert is the system's.
        var envelope = RequestContext.Get(Caller.ContextKey);
        signer.EnterSystem();
        try
        {
            await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(_tenantId)).SetAlertAsync(AlertMetric(webhookId), null);
        }
        finally
        {
            RequestContext.Set(Caller.ContextKey, envelope!);
        }
    }

    private async Task<string?> InvalidAsync(WebhookRequest request)
    {
        var allowLocal = options.Value.AllowInsecureLocalTargets;
        if (WebhookTargets.UrlRefusal(request.Url, allowLocal, out var target) is { } refused)
        {
            return refused;
        }

        if (WebhookEvents.Validate(request.Events) is { } events)
        {
            return events;
        }

        var (_, refusal) = await WebhookTargets.ResolveAsync(target!.DnsSafeHost, allowLocal, static (host, token) => Dns.GetHostAddressesAsync(host, token), CancellationToken.None);
        return refusal is null ? null : $"url must reach a public address: {refusal}";
    }

    private async Task<List<WebhookDelivery>> ReadDeliveriesAsync(string where, params object?[] parameters) =>
        await database.ReadAsync(_tenantId, TenantDatabase.Statement(
            $"""
            SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.last_status_code, d.last_error, d.last_duration_ms, d.created_at,
                   CASE WHEN d.status = 'pending' THEN d.next_attempt_at END, d.finished_at
            FROM webhook_deliveries d JOIN webhook_events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id
            WHERE {where}
            """, parameters),
            async reader =>
            {
                var deliveries = new List<WebhookDelivery>();
                while (await reader.ReadAsync())
                {
                    deliveries.Add(new WebhookDelivery(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4),
                        reader.IsDBNull(5) ? null : reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                        reader.IsDBNull(7) ? null : reader.GetInt32(7), reader.GetFieldValue<DateTimeOffset>(8), Optional(reader, 9), Optional(reader, 10)));
                }

                return deliveries;
            });

    private async Task ChangeAsync(string what, SqlStatement statement, AuditDraft entry)
    {
        var result = await GrainFactory.AuditLog(_tenantId).ExecuteAsync(AuditExtensions.Change([statement], entry));
        if (!result.Committed)
        {
            throw new InvalidOperationException($"{what} was refused by the database ({result.SqlState}).");
        }
    }

    private bool MayManage() => Caller.Current is { InPerson: true, Role: Roles.TenantAdmin } caller && caller.TenantId == _tenantId;

    private static string Refusal(string verb) => $"Only the tenant's admins, signed in as themselves, {verb} its webhooks.";
}
