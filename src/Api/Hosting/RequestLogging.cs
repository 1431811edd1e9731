using System.Collections;
using System.Diagnostics;
using Shohayota.Api.Auth;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Hosting;

/// <summary>
/// Every line logged while a request runs carries its tenant and trace id (a logging scope, shown with
/// <c>Logging:Console:FormatterOptions:IncludeScopes</c>), and each request ends with one line in category
/// <c>Shohayota.Requests</c>: method, path (no query string: it may carry secrets), status, duration. That line is
/// Information (Warning for a 5xx), and <c>appsettings.json</c> keeps the category at Warning: turn it up with
/// <c>Logging__LogLevel__Shohayota.Requests=Information</c>.
/// </summary>
public static class RequestLogging
{
    public const string Category = "Shohayota.Requests";

    /// <summary>First in the pipeline, so the error handler's lines and the final status are inside the scope.</summary>
    public static WebApplication UseShohayotaRequestLogging(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        app.Use(async (http, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            using (logger.BeginScope(new RequestScope(http, Activity.Current)))
            {
                try
                {
                    await next(http);
                }
                finally
                {
                    var status = http.Response.StatusCode;
                    var level = status >= 500 ? LogLevel.Warning : LogLevel.Information;
                    // Checked first: the hot path allocates no arguments for a line nobody reads.
                    if (logger.IsEnabled(level))
                    {
                        logger.Log(
                            level,
                            "{Method} {Path} answered {StatusCode} in {ElapsedMilliseconds:0.0} ms",
                            http.Request.Method,
                            http.Request.Path.Value,
                            status,
                            Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }
            }
        });
        return app;
    }

    /// <summary>
    /// Read when a line is written, not when the request starts: the tenant is known only once authentication has run,
    /// later in the same pipeline.
    /// </summary>
    private sealed class RequestScope(HttpContext http, Activity? activity) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("TenantId", TenantOf(http)),
            1 => new("TraceId", activity?.TraceId.ToHexString()),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"TenantId:{TenantOf(http)} TraceId:{activity?.TraceId.ToHexString()}";

        private static string? TenantOf(HttpContext http)
        {
            var user = http.User;
            if (user.Identity?.IsAuthenticated != true)
            {
                return null;
            }

            return user.FindFirst(TokenIssuer.TenantClaim)?.Value
                ?? (user.IsInRole(Roles.SuperAdmin) ? "system" : null);
        }
    }
}
