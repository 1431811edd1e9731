using Shohayota.Api.Auth;
using Shohayota.Api.Backups;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Api.Web;

/// <summary>
/// Downloads a browser starts with a plain link (<c>&lt;a href download&gt;</c>): the cookie session, not a token, and the
/// very same handler as the API's, so the file is what <c>GET /api/tenants/export</c> gives that caller.
/// </summary>
public static class UiDownloads
{
    public static IEndpointRouteBuilder MapUiDownloads(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/ui").RequireAuthorization(p => p.AddAuthenticationSchemes(UiAuth.CookieScheme).RequireAuthenticatedUser())
            .MapGet("/export", ExportTenantAsync);
        return routes;
    }

    private static async Task<IResult> ExportTenantAsync(
        HttpContext http, IGrainFactory grains, TenantExporter exporter, HeavyRouteLimiter heavy, AdmissionCache admission, string? tenantId)
    {
        // The API's AuditReaderPolicy, checked here so a member gets a 403 rather than the cookie's redirect to a page.
        if (!(http.User.IsInRole(Roles.TenantAdmin) || http.User.IsInRole(Roles.SuperAdmin)))
        {
            return Problems.From(Failure.Forbidden, "Only tenant admins and super-admins export tenant data.");
        }

        if (await AdmissionExtensions.RefusalAsync(http, admission, http.User.ToCaller()) is { } refused)
        {
            return refused;
        }

        http.EnterCaller(admitted: true);
        return await BackupsApi.ExportTenantAsync(http, grains, exporter, heavy, tenantId);
    }
}
