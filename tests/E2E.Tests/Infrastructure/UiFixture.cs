using Microsoft.Playwright;

namespace Shohayota.E2E.Tests.Infrastructure;

/// <summary>One server and one headless chromium for every browser test; each test opens its own browser context.</summary>
public sealed class UiFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private UiServer? _server;

    public UiServer Server => _server ?? throw new InvalidOperationException("The fixture is not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The fixture is not started.");

    public async Task InitializeAsync()
    {
        var installing = Chromium.EnsureInstalledAsync();
        var starting = UiServer.StartAsync();
        try
        {
            await installing;
        }
        catch
        {
            await (await starting).DisposeAsync();
            throw;
        }

        _server = await starting;
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium.ExecutablePath,
            Headless = true,
            Args = Chromium.Arguments,
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Every browser test class is in this collection: they share the fixture and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class UiCollection : ICollectionFixture<UiFixture>
{
    public const string Name = "ui";
}
