using Shohayota.Api.Auth;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Audit;

public static class AuditMiddleware
{
    /// <summary>Carries the client address, user agent and request id to the grains, for audit entries.</summary>
    public static IApplicationBuilder UseRequestOrigin(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        Caller.SetOrigin(http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null,
            http.TraceIdentifier);
        return next(http);
    });

    /// <summary>The longest request path a <c>request.denied</c> entry keeps (longer ones are cut, marked with "…").</summary>
    public const int MaxDeniedTargetLength = 256;

    /// <summary>
    /// Every 403 or 404 an authenticated caller receives is a denied request in the caller's log (another tenant's ids look
    /// missing). 429s are not: traffic over the limit would still write a row each, so they are only counted (traffic metrics).
    /// The target is the method and the path, cut to <see cref="MaxDeniedTargetLength"/> characters: a path is the
    /// caller's to choose (up to Kestrel's 8 KB request line), and a long random one would not fit the audit log's
    /// target index.
    /// </summary>
    public static IApplicationBuilder UseDeniedRequestAudit(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        await next(http);
        if (http.Response.StatusCode is not (StatusCodes.Status403Forbidden or StatusCodes.Status404NotFound) ||
            http.User.Identity?.IsAuthenticated != true)
        {
            return;
        }

        var caller = http.EnterCaller();
        var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
        await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(caller.TenantId)).AppendAsync(
        [
            new AuditDraft("request.denied", "route", DeniedTarget(http.Request.Method, http.Request.Path), AuditOutcomes.Denied,
                Grains.Audit.AuditChain.Details(new { status = http.Response.StatusCode })),
        ]);
    });

    private static string DeniedTarget(string method, PathString path)
    {
        // The path as a URI component (PathString.ToString escapes what is not ASCII): a cut never splits a character.
        var target = $"{method} {path}";
        return target.Length <= MaxDeniedTargetLength ? target : string.Concat(target.AsSpan(0, MaxDeniedTargetLength - 1), "…");
    }
}
