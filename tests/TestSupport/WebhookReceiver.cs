using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Shohayota.TestSupport;

/// <summary>One POST a <see cref="WebhookReceiver"/> received, with the headers a receiver checks.</summary>
public sealed record ReceivedWebhook(DateTimeOffset At, string? Signature, string? EventId, string? EventType, string ContentType, string Body)
{
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

    public string Type => Json["type"]!.GetValue<string>();
}

/// <summary>
/// A real HTTP endpoint on loopback that records every webhook it receives and answers with the status
/// <c>Answer</c> picks (200 unless told otherwise). Its signature check is written from the documented scheme, not
/// from the server's code: <c>t=&lt;unix&gt;,v1=&lt;hex HMAC-SHA256(secret, t + "." + body)&gt;</c>, any <c>v1</c> matching.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<ReceivedWebhook> _received = [];
    private readonly Task _loop;

    private WebhookReceiver(int port)
    {
        Port = port;
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/hook";

    /// <summary>The status to answer a request with; 200 by default.</summary>
    public Func<ReceivedWebhook, int> Answer { get; set; } = _ => 200;

    /// <summary>
    /// Optional: awaited after a request is recorded and <see cref="Answer"/> picked its status, before the answer goes
    /// out; meanwhile the sender waits for it (a delivery in flight) and further requests are received. An answer to a
    /// sender that went away in the meantime is dropped.
    /// </summary>
    public Func<ReceivedWebhook, Task>? Hold { get; set; }

    public static WebhookReceiver Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new WebhookReceiver(TestDatabase.FreePort());
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                // The port was taken between the check and the bind: try another.
            }
        }
    }

    public IReadOnlyList<ReceivedWebhook> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Waits until the received webhooks satisfy <paramref name="done"/>; fails after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitAsync(Func<IReadOnlyList<ReceivedWebhook>, bool> done, TimeSpan? timeout = null)
    {
        var until = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var received = Received;
            if (done(received))
            {
                return received;
            }

            if (DateTimeOffset.UtcNow > until)
            {
                throw new TimeoutException($"The receiver got {received.Count} webhooks: {string.Join(", ", received.Select(r => r.EventType))}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Whether <paramref name="signature"/> signs <paramref name="body"/> with <paramref name="secret"/> (any of its v1 values).</summary>
    public static bool Verifies(string? signature, string secret, string body)
    {
        if (signature is null)
        {
            return false;
        }

        var parts = signature.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToList();
        var timestamp = parts.FirstOrDefault(p => p[0] == "t")?[1];
        if (timestamp is null)
        {
            return false;
        }

        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));
        return parts.Where(p => p[0] == "v1").Any(p => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(p[1]), Encoding.ASCII.GetBytes(expected)));
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var received = new ReceivedWebhook(DateTimeOffset.UtcNow, context.Request.Headers["Shohayota-Signature"],
                    context.Request.Headers["Shohayota-Event-Id"], context.Request.Headers["Shohayota-Event-Type"], context.Request.ContentType ?? "",
                    await reader.ReadToEndAsync());
                int status;
                Func<ReceivedWebhook, Task>? hold;
                lock (_received)
                {
                    _received.Add(received);
                    status = Answer(received);
                    hold = Hold;
                }

                if (hold is null)
                {
                    Respond(context, status);
                }
                else
                {
                    _ = AnswerWhenReleasedAsync(context, hold(received), status);
                }
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The sender went away mid-request (a killed node): nothing to answer.
            }
        }
    }

    private static async Task AnswerWhenReleasedAsync(HttpListenerContext context, Task held, int status)
    {
        try
        {
            await held;
            Respond(context, status);
        }
        catch (OperationCanceledException)
        {
            // The hold was called off: the sender gets no answer, as from a receiver that stopped.
            context.Response.Abort();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The sender went away while held (a killed node), or the receiver stopped: the answer has nowhere to go.
        }
    }

    private static void Respond(HttpListenerContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop.ConfigureAwait(false);
    }
}
