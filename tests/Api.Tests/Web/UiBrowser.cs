using System.Net;
using System.Text.RegularExpressions;

namespace Shohayota.Api.Tests.Web;

/// <summary>A browser's view of the web UI: a cookie jar, no automatic redirects, and the sign-in form posted as a browser posts it.</summary>
public sealed partial class UiBrowser : IDisposable
{
    private UiBrowser(Uri address) =>
        Client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = address };

    public HttpClient Client { get; }

    public static UiBrowser Anonymous(Uri address) => new(address);

    /// <summary>GET /login, then the form post with its antiforgery token; the session cookie stays in the jar.</summary>
    public static async Task<UiBrowser> SignInAsync(Uri address, string email, string password)
    {
        var browser = new UiBrowser(address);
        var page = await browser.Client.GetStringAsync("/login");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = HiddenValue(page, "__RequestVerificationToken"),
            ["_handler"] = HiddenValue(page, "_handler"),
            ["Input.Email"] = email,
            ["Input.Password"] = password,
        });
        using var response = await browser.Client.PostAsync("/login", form);
        response.StatusCode.Should().Be(HttpStatusCode.Redirect, "a successful sign-in redirects to the start page");
        return browser;
    }

    public void Dispose() => Client.Dispose();

    private static string HiddenValue(string html, string name)
    {
        var input = Inputs().Matches(html).Select(m => m.Value).First(i => i.Contains($"name=\"{name}\"", StringComparison.Ordinal));
        return WebUtility.HtmlDecode(ValueAttribute().Match(input).Groups[1].Value);
    }

    [GeneratedRegex("<input[^>]*>")]
    private static partial Regex Inputs();

    [GeneratedRegex("value=\"([^\"]*)\"")]
    private static partial Regex ValueAttribute();
}
