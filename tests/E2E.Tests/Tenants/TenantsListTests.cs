using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Tenants;

public sealed partial class TenantsListTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    [Fact]
    public async Task TheTenantsListIsOneDenseRowPerTenantAndOpensATenantInOneClick()
    {
        var suffix = Guid.NewGuid().ToString("N")[..4];
        var acme = await Server.ProvisionTenantAsync("free", $"Acme Corporation {suffix}");
        await Server.ProvisionTenantAsync("pro", $"Globex {suffix}");
        var initech = await Server.ProvisionTenantAsync("enterprise", $"Initech {suffix}");
        for (var i = 0; i < 3; i++)
        {
            using var created = await Server.SendAsync(HttpMethod.Post, "/api/customers", await Server.TokenAsync(acme), new { name = $"Customer {i}" });
            created.EnsureSuccessStatusCode();
        }

        await Server.SuspendAsync(initech.Id, "unpaid invoices");
        await Page.GotoAsync("/login?returnUrl=%2Fadmin%2Ftenants");
        await SignInAsync(Page, Server.SuperAdminEmail, UiServer.SuperAdminPassword);
        await WaitForInteractiveAsync(Page);

        await Field(Page, "Search").FillAsync(suffix);
        var rows = Page.GetByTestId("tenant-row");
        await Assertions.Expect(rows).ToHaveCountAsync(3);
        await ScreenshotAsync("tenants", docsName: "super-admin-tenants");

        foreach (var row in await rows.AllAsync())
        {
            (await row.GetByTestId("usage-cell").CountAsync()).Should().Be(4);
            (await row.BoundingBoxAsync())!.Height.Should().BeLessThan(60, "a row is one line, not a stack of bars");
        }

        var acmeRow = rows.Filter(new() { HasText = acme.Name });
        await Assertions.Expect(acmeRow.GetByTestId("usage-cell").First).ToHaveAttributeAsync("title", new Regex("of"));
        var suspended = rows.Filter(new() { HasText = initech.Name }).GetByTestId("tenant-row-status");
        await Assertions.Expect(suspended).ToHaveTextAsync("suspended");
        IsGreen(await suspended.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor")).Should().BeFalse();
        await acmeRow.GetByTestId("usage-cell").Last.ClickAsync();
        await ArriveAtAsync(Page, PathIs($"/admin/tenants/{acme.Id}"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = acme.Name, Level = 1 })).ToBeVisibleAsync();
    }

    /// <summary>Whether a CSS colour (<c>rgb(r, g, b)</c> or <c>rgba(…)</c>) is mostly green.</summary>
    public static bool IsGreen(string css)
    {
        var parts = Rgb().Match(css);
        parts.Success.Should().BeTrue($"'{css}' is an rgb colour");
        int Part(string name) => int.Parse(parts.Groups[name].Value, System.Globalization.CultureInfo.InvariantCulture);
        return Part("g") > Part("r") && Part("g") > Part("b");
    }

    [GeneratedRegex(@"rgba?\((?<r>\d+),\s*(?<g>\d+),\s*(?<b>\d+)")]
    private static partial Regex Rgb();
}
