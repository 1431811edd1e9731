using System.Collections.Concurrent;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Infrastructure;

/// <summary>
/// A browser test: a fresh browser context (own cookies) and page on the shared server, the page's console errors
/// collected, screenshots named after the test class, and the steps every flow needs (sign in, wait for the circuit).
/// </summary>
[Collection(UiCollection.Name)]
public abstract class UiTest(UiFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ConcurrentQueue<string> _consoleErrors = new();
    private readonly List<IBrowserContext> _contexts = [];
    private readonly ConcurrentDictionary<Microsoft.Playwright.IRequest, (IPage Page, DateTime Started)> _inFlight = new();
    private long _logStart;
    private int _screenshots;

    protected UiServer Server => fixture.Server;

    protected ITestOutputHelper Output => output;

    /// <summary>The page of the test's first browser context.</summary>
    protected IPage Page { get; private set; } = default!;

    /// <summary>Errors the pages logged to their console and uncaught script errors.</summary>
    protected IReadOnlyCollection<string> ConsoleErrors => _consoleErrors;

    public async Task InitializeAsync()
    {
        _logStart = File.Exists(Server.LogFile) ? new FileInfo(Server.LogFile).Length : 0;
        Page = await NewPageAsync();
    }

    /// <summary>
    /// Another browser (context) with its own cookies: a second user signed in at the same time; in UTC unless
    /// <paramref name="timeZone"/> (an IANA name) says where the browser is.
    /// </summary>
    protected async Task<IPage> NewPageAsync(string timeZone = "UTC")
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Server.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            AcceptDownloads = true,
            Locale = "en-US",
            TimezoneId = timeZone,
        });
        context.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        context.SetDefaultNavigationTimeout((float)Timeout.TotalMilliseconds);
        _contexts.Add(context);
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            // Chromium asks every site for /favicon.ico, which the server does not have: not an error of ours.
            if (message.Type == "error" && !message.Location.Contains("/favicon.ico", StringComparison.Ordinal))
            {
                _consoleErrors.Enqueue($"{page.Url}: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => _consoleErrors.Enqueue($"{page.Url}: uncaught {error}");
        // The requests still open when the test ends, for a failure's output (CI once waited 30 s for a page's load).
        page.Request += (_, request) => _inFlight[request] = (page, DateTime.UtcNow);
        page.RequestFinished += (_, request) => _inFlight.TryRemove(request, out var _);
        page.RequestFailed += (_, request) => _inFlight.TryRemove(request, out var _);
        return page;
    }

    /// <summary>Signs in through the sign-in page and waits until the browser has left it.</summary>
    protected static async Task SignInAsync(IPage page, string email, string password)
    {
        await SubmitSignInAsync(page, email, password);
        await ArriveAtAsync(page, new Regex("^[^?#]*//[^/]+/(?!login)"));
    }

    /// <summary>Fills and submits the sign-in form (the outcome is the caller's to check).</summary>
    protected static async Task SubmitSignInAsync(IPage page, string email, string password)
    {
        if (!new Uri(page.Url is "about:blank" ? "http://x/" : page.Url).AbsolutePath.StartsWith("/login", StringComparison.Ordinal))
        {
            await page.GotoAsync("/login");
        }

        await page.GetByLabel("E-mail address").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>
    /// Waits until the page's Blazor circuit has started (blazor.web.js defines <c>Blazor.disconnect</c> only then) and
    /// the page's heading is rendered: before that, clicks on the prerendered markup do nothing.
    /// </summary>
    protected static async Task WaitForInteractiveAsync(IPage page)
    {
        await page.WaitForFunctionAsync("() => !!window.Blazor && typeof window.Blazor.disconnect === 'function'");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    }

    /// <summary>
    /// Clicks until <paramref name="expected"/> shows: a click that lands before the circuit handles it does nothing,
    /// and once the expected dialog covers the page another click could not reach the target anyway.
    /// </summary>
    protected static async Task ClickUntilVisibleAsync(ILocator target, ILocator expected)
    {
        var deadline = DateTime.UtcNow + Timeout;
        for (var wait = 1_000; ; wait = Math.Min(wait * 2, 8_000))
        {
            if (await expected.IsVisibleAsync())
            {
                await FocusSettledAsync(expected);
                return;
            }

            try
            {
                await target.ClickAsync(new LocatorClickOptions { Timeout = 5_000 });
                await expected.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible, Timeout = wait });
                await FocusSettledAsync(expected);
                return;
            }
            catch (TimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    /// <summary>
    /// A form dialog focuses its first field (AutoFocus) one server round trip after it shows: a field filled before that
    /// would lose the rest of its typing to the first one ("Ada" + "ada@…" in First name). Wait until a field of the
    /// dialog has the focus; a dialog without fields gets a moment and no more.
    /// </summary>
    private static async Task FocusSettledAsync(ILocator expected)
    {
        if (await expected.GetAttributeAsync("role") != "dialog" || await expected.Locator("input:not([type=hidden]), textarea").CountAsync() == 0)
        {
            return;
        }

        try
        {
            await expected.Locator("input:focus, textarea:focus").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 3_000 });
        }
        catch (TimeoutException)
        {
            // No field takes the focus by itself in this dialog.
        }
    }

    /// <summary>The open MudBlazor dialog.</summary>
    protected static ILocator Dialog(IPage page) => page.GetByRole(AriaRole.Dialog);

    /// <summary>A snackbar (MudBlazor's toast) that contains <paramref name="text"/>.</summary>
    protected static ILocator Snackbar(IPage page, string text) => page.Locator(".mud-snackbar").Filter(new() { HasText = text });

    /// <summary>A field by its visible label, exactly ("Name" is not "Admin name").</summary>
    protected static ILocator Field(ILocator scope, string label) => scope.GetByLabel(label, new() { Exact = true });

    /// <summary>A field of the page by its visible label, exactly.</summary>
    protected static ILocator Field(IPage page, string label) => page.GetByLabel(label, new() { Exact = true });

    /// <summary>Picks <paramref name="option"/> (case-insensitive) in the MudSelect labelled <paramref name="label"/>.</summary>
    protected static async Task SelectAsync(IPage page, ILocator scope, string label, string option)
    {
        await Field(scope, label).ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item")
            .Filter(new() { HasTextRegex = new Regex($"^\\s*{Regex.Escape(option)}\\b", RegexOptions.IgnoreCase) })
            .ClickAsync();
    }

    /// <summary>Saves a screenshot of <paramref name="page"/> (default: the test's page) and prints where.</summary>
    protected async Task ScreenshotAsync(string step, IPage? page = null, string? docsName = null)
    {
        var file = await Screenshots.SaveAsync(page ?? Page, TestDirectory, $"{++_screenshots:00}-{step}", docsName);
        output.WriteLine($"screenshot: {file}");
    }

    /// <summary>
    /// <c>screenshots/{class}/{test}</c>. xunit 2 tells a test its name only through its output helper's private field;
    /// without it the screenshots still land, under "test".
    /// </summary>
    private string TestDirectory
    {
        get
        {
            var test = output.GetType().GetField("test", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(output) as ITest;
            var name = test?.DisplayName is { } display ? display[(display.IndexOf(GetType().Name + ".", StringComparison.Ordinal) + GetType().Name.Length + 1)..] : "test";
            return Path.Combine(GetType().Name, Regex.Replace(name, "[^A-Za-z0-9_.-]+", "_").Trim('_'));
        }
    }

    /// <summary>The server log's warnings and errors (each with its message) written since the test began; the last 40.</summary>
    private List<string> ServerWarnings()
    {
        try
        {
            using var stream = new FileStream(Server.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Min(_logStart, stream.Length), SeekOrigin.Begin);
            var lines = new StreamReader(stream).ReadToEnd().Split('\n');
            var picked = new List<string>();
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].StartsWith("warn:", StringComparison.Ordinal) || lines[i].StartsWith("fail:", StringComparison.Ordinal) || lines[i].StartsWith("crit:", StringComparison.Ordinal))
                {
                    // The header, then its indented lines but the scopes ("=> SpanId:… RequestPath:…", often hundreds of
                    // characters): the message and a stack trace's first lines.
                    var entry = lines[i].TrimEnd();
                    for (var j = i + 1; j < lines.Length && j <= i + 8 && lines[j].StartsWith(' '); j++)
                    {
                        if (!lines[j].TrimStart().StartsWith("=>", StringComparison.Ordinal))
                        {
                            entry += " " + lines[j].Trim();
                        }
                    }

                    picked.Add(entry.Length > 600 ? entry[..600] + "…" : entry);
                }
            }

            return picked.TakeLast(40).ToList();
        }
        catch (IOException error)
        {
            return [$"(the log could not be read: {error.Message})"];
        }
    }

    /// <summary>
    /// Waits until the page's address matches <paramref name="url"/>, whether a full load or Blazor's in-page navigation
    /// took it there, without waiting for a load event. Playwright's <c>WaitForURLAsync</c> waits for the navigation's
    /// load; twice in the project's runs it waited 30 s for one that never came, on a page that had arrived and rendered
    /// (the sign-in's redirect in one CI run; the list a deleted contact's page goes back to in a local run). The steps
    /// after it wait for what they need: their locators for the markup, <see cref="WaitForInteractiveAsync"/> for the circuit.
    /// </summary>
    protected static Task ArriveAtAsync(IPage page, Regex url) =>
        Assertions.Expect(page).ToHaveURLAsync(url, new PageAssertionsToHaveURLOptions { Timeout = (float)Timeout.TotalMilliseconds });

    /// <summary>A path (with query) matcher for <see cref="ArriveAtAsync"/>.</summary>
    protected static Regex PathIs(string path) => new($"^[^?#]*//[^/]+{Regex.Escape(path)}([?#].*)?$");

    /// <summary>
    /// Ends with what a failure's output needs: a screenshot of every page the test opened, where each page was and how
    /// far it had loaded, the requests still open, the server log's path and the warnings and errors it wrote meanwhile.
    /// </summary>
    public async Task DisposeAsync()
    {
        var last = 0;
        foreach (var context in _contexts)
        {
            foreach (var page in context.Pages)
            {
                var file = await Screenshots.SaveAsync(page, TestDirectory, $"last-{++last}");
                output.WriteLine($"last screen: {file}");
                var readyState = page.EvaluateAsync<string>("() => document.readyState");
                var state = await Task.WhenAny(readyState, Task.Delay(2_000)) == readyState && readyState.IsCompletedSuccessfully ? readyState.Result : "(no answer)";
                // A page that answers later, or fails (closed, crashed), leaves no unobserved exception behind.
                _ = readyState.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                output.WriteLine($"page {last}: {page.Url}, document {state}");
                foreach (var (request, (_, started)) in _inFlight.Where(r => r.Value.Page == page).OrderBy(r => r.Value.Started))
                {
                    output.WriteLine($"  still open: {request.Method} {request.Url} ({request.ResourceType}, {(DateTime.UtcNow - started).TotalSeconds:0.0} s)");
                }
            }

            await context.DisposeAsync();
        }

        output.WriteLine($"server log: {Server.LogFile}");
        foreach (var line in ServerWarnings())
        {
            output.WriteLine($"  {line}");
        }

        foreach (var error in _consoleErrors)
        {
            output.WriteLine($"console: {error}");
        }
    }
}
