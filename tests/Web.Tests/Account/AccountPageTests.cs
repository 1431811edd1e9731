using System.Security.Claims;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages;

namespace Shohayota.Web.Tests.Account;

public sealed class AccountPageTests : UiTestContext
{
    [Fact]
    public void TheAccountPageOffersAPasswordChangeAndSigningOutEverywhere()
    {
        var page = RenderPage("/account");

        page.Find("[data-testid=account-email]").TextContent.Should().Contain("admin@tenant.test");
        page.FindAll("label").Select(l => l.TextContent).Should().Equal("Current password", "New password", "New password again");
        page.FindAll("input[type=password]").Select(i => i.GetAttribute("autocomplete")).Should().Equal("current-password", "new-password", "new-password");
        page.Find("[data-testid=change-password]").TextContent.Should().Be("Change password");
        var everywhere = page.Find("[data-testid=sign-out-everywhere]");
        everywhere.TextContent.Should().Be("Sign out all my sessions");
        everywhere.Closest("form")!.GetAttribute("action").Should().Be("/logout/all");
        everywhere.Closest("form")!.GetAttribute("method").Should().Be("post");
        page.FindAll("[data-testid=account-message]").Should().BeEmpty();
    }

    [Fact]
    public void AfterAChangeThePageSaysTheOtherSessionsEnded()
    {
        var page = RenderPage("/account?changed=1");

        page.Find("[data-testid=account-message]").TextContent.Should().Contain("password was changed").And.Contain("signed out");
    }

    private IRenderedComponent<Api.Web.Components.Pages.Account> RenderPage(string uri)
    {
        var http = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("email", "admin@tenant.test")], "test")) };
        http.Request.Method = "GET";
        var accessor = new HttpContextAccessor { HttpContext = http };
        // Rendering signs nobody in: the form's handler (and so the grains) is not reached.
        Services.AddSingleton(new UiSignIn(null!, null!, null!, accessor));
        Services.GetRequiredService<NavigationManager>().NavigateTo(uri);
        return Render<Api.Web.Components.Pages.Account>(p => p.AddCascadingValue(http));
    }
}
