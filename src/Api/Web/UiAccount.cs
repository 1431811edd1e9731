using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;

namespace Shohayota.Api.Web;

/// <summary>Sign-out: a form post (antiforgery-checked) from the app bar.</summary>
public static class UiAccount
{
    public static IEndpointRouteBuilder MapUiAccount(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/logout", async ([FromServices] UiSignIn signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect("/login?signedOut=1");
        }).WithMetadata(new RequireAntiforgeryTokenAttribute()).RequireAuthorization(p => p.AddAuthenticationSchemes(UiAuth.CookieScheme).RequireAuthenticatedUser());
        return routes;
    }
}
