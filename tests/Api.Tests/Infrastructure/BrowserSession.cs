using System.Net;
using System.Text.RegularExpressions;

namespace Shohayota.Api.Tests.Infrastructure;

/// <summary>
/// A browser's view of the web UI over plain HTTP: a cookie jar, no automatic redirects, and the sign-in form posted
/// the way the page posts it (antiforgery token from the form, field names from the page).
/// </summary>
public sealed partial class BrowserSession : IDisposable
{
    private readonly HttpClient _client;

    public BrowserSession(Uri address, CookieContainer? cookies = null)
    {
        Cookies = cookies ?? new CookieContainer();
        _client = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = address };
    }

    public CookieContainer Cookies { get; }

    public HttpClient Client => _client;

    /// <summary>GET /login, then POST the form; returns the response to the post (302 on success).</summary>
    public async Task<HttpResponseMessage> SignInAsync(string email, string password)
    {
        var form = await _client.GetStringAsync("/login");
        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = AntiforgeryToken(form),
            ["_handler"] = "login",
            ["Input.Email"] = email,
            ["Input.Password"] = password,
        });
        return await _client.PostAsync("/login", content);
    }

    public static string AntiforgeryToken(string html) =>
        TokenField().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups[1].Value)
            : throw new InvalidOperationException("The page has no antiforgery token.");

    public void Dispose() => _client.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
