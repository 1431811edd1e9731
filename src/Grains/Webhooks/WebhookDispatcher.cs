using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Webhooks;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Webhooks;

/// <summary>
/// Every silo's webhook sender: claims due deliveries of every tenant (<c>webhook_claim</c>, a lease per delivery, so
/// nodes share the queue and a node that dies loses its claims when their leases end), POSTs each event signed with its
/// webhook's secrets, and records the answer under the tenant's row-level security. A 2xx answer succeeds; anything
/// else (an error status, a timeout, a refused target) is retried with exponential backoff and jitter until the retry
/// period after the first attempt ends; then the delivery fails and its webhook is disabled with an alert.
/// </summary>
public sealed partial class WebhookDispatcher(
    TenantDatabase database,
    IHttpClientFactory clients,
    WebhookSecretBox box,
    IGrainFactory grains,
    CallerSigner signer,
    TimeProvider time,
    IOptions<WebhookOptions> options,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string ClientName = "webhooks";

    /// <summary>The most of an answer a delivery reads (the rest is dropped with the connection).</summary>
    public const int MaxResponseBytes = 64 * 1024;

    // Names this dispatcher's claims; unique per dispatcher (test processes host several silos).
    private readonly string _node = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private DateTimeOffset _pruned = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.AllowInsecureLocalTargets)
        {
            LogInsecureTargets(logger);
        }

        if (!settings.Deliver)
        {
            return;
        }

        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var sent = 0;
            try
            {
                sent = await RunOnceAsync(stoppingToken);
                if (failing)
                {
                    failing = false;
                    LogQueueBack(logger);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The database is away, or a node is going down: the deliveries wait in the database, due, and this node
                // tries again after a poll interval. Said once per outage, not once per poll.
                if (!failing)
                {
                    failing = true;
                    LogQueueUnavailable(logger, e.GetType().Name, e.Message);
                }
            }

            if (sent == 0)
            {
                try
                {
                    await Task.Delay(settings.PollInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await ReleaseClaimsAsync();
    }

    /// <summary>
    /// On the way down: gives back this node's claims (their sends were cancelled), so another node sends them now rather
    /// than when the leases end. Bounded: a node that cannot reach the database leaves them to the leases.
    /// </summary>
    private async Task ReleaseClaimsAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await using var release = database.DataSource.CreateCommand("SELECT webhook_release($1)");
            release.Parameters.Add(new NpgsqlParameter { Value = _node });
            await release.ExecuteScalarAsync(timeout.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or InvalidOperationException)
        {
            LogClaimsLeft(logger, e.Message);
        }
    }

    /// <summary>Claims and sends one batch of due deliveries; answers how many it claimed.</summary>
    internal async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var claimed = await ClaimAsync(settings, cancellationToken);
        if (claimed.Count > 0)
        {
            await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = settings.Concurrency, CancellationToken = cancellationToken },
                async (delivery, token) => await DeliverAsync(delivery, settings, token));
        }

        if (time.GetUtcNow() - _pruned > TimeSpan.FromHours(1))
        {
            _pruned = time.GetUtcNow();
            await using var prune = database.DataSource.CreateCommand("SELECT webhook_prune($1)");
            prune.Parameters.Add(new NpgsqlParameter { Value = _pruned - settings.LogRetention });
            await prune.ExecuteScalarAsync(cancellationToken);
        }

        return claimed.Count;
    }

    private async Task<List<Claimed>> ClaimAsync(WebhookOptions settings, CancellationToken cancellationToken)
    {
        await using var claim = database.DataSource.CreateCommand(
            """
            SELECT tenant_id, delivery_id, webhook_id, event_id, event_type, attempts, first_attempt_at, url, secret_enc, previous_secret_enc,
                   previous_until, payload
            FROM webhook_claim($1, $2, $3)
            """);
        claim.Parameters.Add(new NpgsqlParameter { Value = _node });
        // As many as it sends at once: each claimed delivery starts at once, so its lease covers one send (Timeout < ClaimLease).
        claim.Parameters.Add(new NpgsqlParameter { Value = settings.Concurrency });
        claim.Parameters.Add(new NpgsqlParameter { Value = settings.ClaimLease });
        var claimed = new List<Claimed>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new Claimed(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetString(4), reader.GetInt32(5),
                reader.GetFieldValue<DateTimeOffset>(6), reader.GetString(7), reader.GetFieldValue<byte[]>(8),
                reader.IsDBNull(9) ? null : reader.GetFieldValue<byte[]>(9), reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
                reader.GetString(11)));
        }

        return claimed;
    }

    private async Task DeliverAsync(Claimed delivery, WebhookOptions settings, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var (status, error) = await SendAsync(delivery, settings, cancellationToken);
        var duration = (int)Math.Min(int.MaxValue, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        var now = time.GetUtcNow();
        // The claim counted this attempt already.
        var attempts = delivery.Attempts;
        if (status is >= 200 and < 300)
        {
            await RecordAsync(delivery, "succeeded", attempts, status, null, duration, null, now, cancellationToken);
            return;
        }

        var next = now + Backoff(attempts, settings);
        if (next - delivery.FirstAttemptAt <= settings.RetryPeriod)
        {
            await RecordAsync(delivery, "pending", attempts, status, error, duration, next, now, cancellationToken);
            return;
        }

        // The retry period is over: the delivery fails, and the webhook stops until its admin activates it again.
        if (await RecordAsync(delivery, "failed", attempts, status, error, duration, null, now, cancellationToken))
        {
            LogDisabled(logger, delivery.WebhookId, delivery.TenantId, attempts);
            signer.EnterSystem();
            await grains.GetGrain<IWebhooksGrain>(GrainKeys.Webhooks(delivery.TenantId)).DisableAsync(delivery.WebhookId,
                $"its deliveries failed for {settings.RetryPeriod.TotalHours:0.#} hours ({attempts} attempts; last: {error ?? $"HTTP {status}"}).");
        }
    }

    /// <summary>The delay before attempt <paramref name="attempts"/> + 1: the first delay doubled per attempt, capped, ± 20 %.</summary>
    internal static TimeSpan Backoff(int attempts, WebhookOptions settings)
    {
        var exponential = settings.FirstRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 30));
        var capped = Math.Min(exponential, settings.MaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    private async Task<(int? Status, string? Error)> SendAsync(Claimed delivery, WebhookOptions settings, CancellationToken cancellationToken)
    {
        var secrets = new List<string>(2);
        if (box.Open(delivery.SecretSealed) is { } secret)
        {
            secrets.Add(secret);
        }

        if (delivery.PreviousSecretSealed is { } previous && delivery.PreviousUntil > time.GetUtcNow() && box.Open(previous) is { } old)
        {
            secrets.Add(old);
        }

        if (secrets.Count == 0)
        {
            return (null, "The webhook's secret does not open with this cluster's keys; rotate it.");
        }

        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(WebhookSecret.SignatureHeader, WebhookSecret.Sign(secrets, time.GetUtcNow().ToUnixTimeSeconds(), body));
        request.Headers.TryAddWithoutValidation(WebhookSecret.EventIdHeader, delivery.EventId.ToString("D"));
        request.Headers.TryAddWithoutValidation(WebhookSecret.EventTypeHeader, delivery.EventType);
        request.Headers.UserAgent.ParseAdd("Shohayota-Webhooks/1");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.Timeout);
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var excerpt = await ReadCappedAsync(response, timeout.Token);
            return (status, status is >= 200 and < 300 ? null : Truncate($"HTTP {status}{(excerpt.Length > 0 ? ": " + excerpt : "")}"));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"No answer within {settings.Timeout.TotalSeconds:0.#} s.");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or Polly.Timeout.TimeoutRejectedException)
        {
            return (null, Truncate(Innermost(e)));
        }
    }

    /// <summary>The answer's first bytes as text (for the delivery log), reading at most <see cref="MaxResponseBytes"/>.</summary>
    private static async Task<string> ReadCappedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxResponseBytes];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
        {
            read += n;
        }

        return Encoding.UTF8.GetString(buffer, 0, Math.Min(read, 200)).ReplaceLineEndings(" ").Trim();
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null && e is not WebhookTargetRefusedException)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300];

    /// <summary>Records an attempt, if the claim is still this node's (a lapsed lease may have passed it on); true when recorded.</summary>
    private async Task<bool> RecordAsync(
        Claimed delivery, string status, int attempts, int? code, string? error, int duration, DateTimeOffset? next, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var transaction = await database.BeginAsync(delivery.TenantId, cancellationToken);
        var updated = await transaction.ExecuteAsync(
            """
            UPDATE webhook_deliveries
            SET status = $3, last_status_code = $5, last_error = $6, last_duration_ms = $7,
                next_attempt_at = coalesce($8, next_attempt_at), finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE $9 END,
                claimed_by = NULL, claimed_until = NULL
            WHERE id = $1 AND claimed_by = $2 AND attempts = $4 AND status = 'pending'
            """,
            delivery.DeliveryId, _node, status, attempts, code, error, duration, next, now);
        await transaction.CommitAsync(cancellationToken);
        return updated == 1;
    }

    private sealed record Claimed(
        Guid TenantId, Guid DeliveryId, Guid WebhookId, Guid EventId, string EventType, int Attempts, DateTimeOffset FirstAttemptAt,
        string Url, byte[] SecretSealed, byte[]? PreviousSecretSealed, DateTimeOffset? PreviousUntil, string Payload);

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "Shohayota:Webhooks:AllowInsecureLocalTargets is on: webhooks may target http and loopback addresses. For development only.")]
    private static partial void LogInsecureTargets(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook deliveries wait: the queue failed ({Error}: {Reason}); trying again every poll interval.")]
    private static partial void LogQueueUnavailable(ILogger logger, string error, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook deliveries resumed.")]
    private static partial void LogQueueBack(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook claims of this node were left to their leases ({Reason}).")]
    private static partial void LogClaimsLeft(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {WebhookId} of tenant {TenantId} is disabled: its deliveries failed for the retry period ({Attempts} attempts).")]
    private static partial void LogDisabled(ILogger logger, Guid webhookId, Guid tenantId, int attempts);
}
