using Microsoft.Extensions.Primitives;

namespace Shohayota.Api.Errors;

/// <summary>
/// A read (GET, HEAD) whose grain call failed because the silo it went to is gone is tried once more after
/// <see cref="Pause"/>: once membership has declared that silo dead, the grain activates on a live one and the read
/// succeeds instead of answering 503. Writes are not retried (a create that reached the dead silo may have committed);
/// they answer 503 and the client decides (with an idempotency key, a retried create is safe). The retry is the same
/// request: it is not admitted (metered) again, and it answers without the headers the first attempt had set.
/// </summary>
public static class ReadRetry
{
    /// <summary>Long enough for a gossiped death to reach this silo's directory cache, short for a person waiting.</summary>
    public static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(500);

    /// <summary>Between authorization and the endpoint, so only the endpoint's work (its grain calls) is repeated.</summary>
    public static WebApplication UseReadRetry(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ReadRetry).FullName!);
        app.Use(async (context, next) =>
        {
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                await next(context);
                return;
            }

            // The headers of the middleware before this one: the retry starts from them, without the first attempt's.
            var headers = context.Response.Headers.Count == 0 ? null : new Dictionary<string, StringValues>(context.Response.Headers, StringComparer.OrdinalIgnoreCase);
            try
            {
                await next(context);
            }
            catch (Exception e) when (SiloFailures.IsSiloGone(e) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                logger.LogWarning(
                    "Retrying {Method} {Path} once in {Pause} ms: its grain call failed with {Exception} (a silo is gone)",
                    context.Request.Method, context.Request.Path, (int)Pause.TotalMilliseconds, e.GetType().Name);
                await Task.Delay(Pause, context.RequestAborted);
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.Headers.Clear();
                foreach (var (name, value) in headers ?? [])
                {
                    context.Response.Headers[name] = value;
                }

                await next(context);
            }
        });
        return app;
    }
}
