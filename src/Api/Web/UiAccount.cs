using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;

namespace Shohayota.Api.Web;

/// <summary>Sign-out of this session, or of every session of the user: form posts (antiforgery-checked) from the app bar and the account page.</summary>
public static class UiAccount
{
    public static IEndpointRouteBuilder MapUiAccount(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/logout", async ([FromServices] UiSignIn signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect("/login?signedOut=1");
        }).WithMetadata(new RequireAntiforgeryTokenAttribute()).RequireAuthorization(p => p.AddAuthenticationSchemes(UiAuth.CookieScheme).RequireAuthenticatedUser());
        routes.MapPost("/logout/all", async ([FromServices] UiSignIn signIn) =>
        {
            await signIn.SignOutEverywhereAsync();
            return Results.LocalRedirect("/login?signedOut=all");
        }).WithMetadata(new RequireAntiforgeryTokenAttribute()).RequireAuthorization(p => p.AddAuthenticationSchemes(UiAuth.CookieScheme).RequireAuthenticatedUser());
        return routes;
    }
}
