using System.Globalization;
using System.Security.Claims;
using System.Text.RegularExpressions;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using MudBlazor.Services;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;
using Shohayota.Api.Web;
using Shohayota.Api.Web.Components.Pages.Admin;
using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Web;

/// <summary>
/// The web UI's quota pages, rendered against a real node's services, show the API calls made, as
/// <c>GET /api/tenants/quotas</c> does: not the block of admissions the node leased (it holds leases for five minutes here,
/// so only settling first gives them back).
/// </summary>
public sealed partial class UiQuotaUsageTests(UiQuotaUsageTests.LeasingHost fixture) : IClassFixture<UiQuotaUsageTests.LeasingHost>
{
    private static readonly TimeSpan PageLoad = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task SettingsShowsTheTenantAdminTheApiCallsMade()
    {
        var host = fixture.Host;
        var tenant = await host.ProvisionTenantAsync();
        var before = await ApiCallsAsync(tenant.Id);
        var calls = await AdmissionLeaseTests.HoldABlockAsync(host, tenant.Id, tenant.Admin.AccessToken);
        await using var ui = Ui(tenant.Admin);

        var page = ui.Render<Settings>();
        var shown = page.WaitForElement("[data-testid=quota-apiCallsMonthly] [data-testid=quota-text]", PageLoad).TextContent;

        // The page's own load is one more call, admitted by the TenantGrain.
        Number(shown.Split('/')[0]).Should().Be(before + calls + 1, $"the page shows \"{shown}\"");
    }

    [Fact]
    public async Task TheTenantPageShowsTheSuperAdminTheApiCallsMade()
    {
        var host = fixture.Host;
        var tenant = await host.ProvisionTenantAsync();
        var before = await ApiCallsAsync(tenant.Id);
        var calls = await AdmissionLeaseTests.HoldABlockAsync(host, tenant.Id, tenant.Admin.AccessToken);
        await using var ui = Ui(await host.LoginAsync(host.SuperAdminEmail, ApiHost.SuperAdminPassword));

        var page = ui.Render<TenantDetail>(p => p.Add(d => d.Id, tenant.Id));
        var shown = "";
        page.WaitForAssertion(() => shown = page.FindAll("[data-testid=usage-bar]").Select(b => b.TextContent).Single(t => t.Contains("API calls", StringComparison.Ordinal)), PageLoad);

        Number(ApiCallsBar().Match(shown).Groups[1].Value).Should().Be(before + calls, $"the page shows \"{shown}\"");
    }

    [Fact]
    public async Task TheTenantsListShowsTheSuperAdminTheApiCallsMade()
    {
        var host = fixture.Host;
        var tenant = await host.ProvisionTenantAsync();
        var before = await ApiCallsAsync(tenant.Id);
        var calls = await AdmissionLeaseTests.HoldABlockAsync(host, tenant.Id, tenant.Admin.AccessToken);
        await using var ui = Ui(await host.LoginAsync(host.SuperAdminEmail, ApiHost.SuperAdminPassword));

        var page = ui.Render<Api.Web.Components.Pages.Admin.Tenants>();
        page.WaitForElement("input", PageLoad);
        page.Find("input").Input(tenant.Name);
        var shown = "";
        page.WaitForAssertion(() => shown = page.FindAll("tbody tr").Single().QuerySelectorAll("[data-testid=usage-cell]")
            .Select(c => c.GetAttribute("title")!).Single(t => t.Contains("API calls", StringComparison.Ordinal)), PageLoad);

        Number(ApiCallsBar().Match(shown).Groups[1].Value).Should().Be(before + calls, $"the row says \"{shown}\"");
    }

    private async Task<long> ApiCallsAsync(Guid tenant) =>
        (await AdmissionLeaseTests.QuotasAsync(fixture.Host, tenant)).Quotas[QuotaNames.ApiCallsMonthly].Used;

    private static long Number(string text) => long.Parse(text.Trim(), NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    /// <summary>A circuit of the signed-in user: the node's services, the user's claims as the UI cookie carries them.</summary>
    private BunitContext Ui(Session session)
    {
        var host = fixture.Host;
        var claims = new JsonWebTokenHandler().ReadJsonWebToken(session.AccessToken).Claims.ToList();
        claims.Add(new Claim(UiAuth.SessionClaim, session.RefreshToken));
        var user = new ClaimsPrincipal(new ClaimsIdentity(claims, "test", JwtRegisteredClaimNames.Sub, "role"));
        var ui = new BunitContext();
        ui.JSInterop.Mode = JSRuntimeMode.Loose;
        ui.Services.AddMudServices();
        ui.Services.AddSingleton<AuthenticationStateProvider>(new SignedIn(user));
        ui.Services.AddScoped(sp => new UiSession(
            sp.GetRequiredService<AuthenticationStateProvider>(), host.Services.GetRequiredService<IGrainFactory>(), host.Services.GetRequiredService<CallerSigner>(),
            sp.GetRequiredService<NavigationManager>(), new HttpContextAccessor(), host.Services.GetRequiredService<UiSessionCheck>()));
        ui.Services.AddFallbackServiceProvider(host.Services);
        return ui;
    }

    [GeneratedRegex(@"API calls[^:]*: ([\d,]+) of")]
    private static partial Regex ApiCallsBar();

    private sealed class SignedIn(ClaimsPrincipal user) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(user));
    }

    /// <summary>A node that holds admission leases for five minutes: nothing but a settlement gives a block back during a test.</summary>
    public sealed class LeasingHost : IAsyncLifetime
    {
        public ApiHost Host { get; private set; } = null!;

        public async Task InitializeAsync() => Host = await ApiHost.StartAsync(settings: ["--Shohayota:Admission:LeaseDuration=00:05:00"]);

        public async Task DisposeAsync() => await Host.DisposeAsync();
    }
}
