using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Shohayota.Grains.Interfaces.Common;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Npgsql;
using MudBlazor;
using MudBlazor.Services;
using Shohayota.Api.Web.Components;

namespace Shohayota.Api.Web;

/// <summary>
/// The web UI: Blazor with interactive server rendering and MudBlazor, served at <c>/</c> by the same node as the API.
/// Pages sign in with a cookie (the API keeps bearer tokens) and call the same grains with the signed-in user's identity.
/// </summary>
public static class WebExtensions
{
    /// <summary>How long a snackbar stays (then it fades by itself).</summary>
    public const int SnackbarMilliseconds = 4000;

    /// <summary>
    /// Snackbars confirm, then go: bottom left, over the navigation drawer and away from the pages' action buttons
    /// (top right) and dialogs; a few seconds each, at most three, none repeated, and cleared when the user moves to
    /// another page.
    /// </summary>
    public static void ConfigureSnackbars(SnackbarConfiguration snackbars)
    {
        snackbars.PositionClass = Defaults.Classes.Position.BottomLeft;
        snackbars.VisibleStateDuration = SnackbarMilliseconds;
        snackbars.ShowTransitionDuration = 200;
        snackbars.HideTransitionDuration = 300;
        snackbars.MaxDisplayedSnackbars = 3;
        snackbars.PreventDuplicates = true;
        snackbars.NewestOnTop = true;
        snackbars.ShowCloseIcon = true;
        snackbars.ClearAfterNavigation = true;
        snackbars.RequireInteraction = false;
    }

    public static WebApplicationBuilder AddShohayotaWeb(this WebApplicationBuilder builder)
    {
        // Serves MudBlazor's and the framework's files from the build output too (tests run it outside Development).
        builder.WebHost.UseStaticWebAssets();
        // Not the framework's hot-reload support for a build's files: its catch-all route would answer a wrong method
        // on an API path with 404 instead of 405. Our static files change only with a build.
        builder.Configuration["ReloadStaticAssetsAtRuntime"] ??= "false";
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices(mud => ConfigureSnackbars(mud.SnackbarConfiguration));
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddScoped<AuthenticationStateProvider, UiRevalidation>();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddScoped<UiSession>();
        builder.Services.AddScoped<UiSignIn>();
        builder.Services.AddSingleton<UiSessionCheck>();
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "shohayota.af";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });

        // Cookies and antiforgery tokens stay valid across restarts and nodes: one key ring, in the database, encrypted
        // with a key that is not (every node is given the same one).
        var keyEncryption = UiKeyEncryptionKeys.Load(builder.Configuration);
        UiKeyRing.EnsureReadable(builder.Configuration.GetConnectionString(Silo.Database.DatabaseSetup.ConnectionStringName)!, keyEncryption, TimeProvider.System.GetUtcNow());
        builder.Services.AddSingleton(keyEncryption);
        builder.Services.AddDataProtection().SetApplicationName("shohayota-ui");
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<NpgsqlDataSource, ILogger<UiKeyRing>>((options, dataSource, logger) =>
            {
                options.XmlRepository = new UiKeyRing(dataSource, logger);
                options.XmlEncryptor = new UiKeyEncryptor(keyEncryption);
            });

        builder.Services.AddAuthentication().AddCookie(UiAuth.CookieScheme, o =>
        {
            o.Cookie.Name = "shohayota.session";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = "/login";
            o.LogoutPath = "/logout";
            o.AccessDeniedPath = "/denied";
            o.ReturnUrlParameter = "returnUrl";
            o.ExpireTimeSpan = UiAuth.SessionLifetime;
            o.SlidingExpiration = true;
            o.Events = new CookieAuthenticationEvents
            {
                OnValidatePrincipal = UiAuth.ValidateAsync,
                // A session this very request ended (tenant suspended, user disabled): the sign-in page says why.
                OnRedirectToLogin = context =>
                {
                    var target = context.HttpContext.Items[UiAuth.RefusalItem] is Failure refusal
                        ? QueryHelpers.AddQueryString(context.RedirectUri, "refused", refusal.ToString())
                        : context.RedirectUri;
                    context.Response.Redirect(target);
                    return Task.CompletedTask;
                },
            };
        });
        return builder;
    }

    public static WebApplication MapShohayotaWeb(this WebApplication app)
    {
        var manifest = Path.Combine(AppContext.BaseDirectory, $"{app.Environment.ApplicationName}.staticwebassets.endpoints.json");
        if (File.Exists(manifest))
        {
            app.MapStaticAssets();
        }
        else
        {
            app.UseStaticFiles();
        }

        app.UseAntiforgery();
        app.MapUiAccount();
        app.MapUiDownloads();
        // Every page and the circuit's hub (/_blazor) need a signed-in browser; the sign-in page opts out.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode()
            .RequireAuthorization(p => p.AddAuthenticationSchemes(UiAuth.CookieScheme).RequireAuthenticatedUser());
        return app;
    }
}
