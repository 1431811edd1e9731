using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Auth;
using Shohayota.Api.Tests.Backups;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Api.Tests.Web;

public sealed class UiExportTests
{
    [Fact]
    public async Task ATenantAdminsDownloadIsTheApiExportOfTheirOwnTenant()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var first = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Ada", tags = new[] { "vip" } });
        var second = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Grace" });
        using var browser = await UiBrowser.SignInAsync(host.Client.BaseAddress!, tenant.AdminEmail, tenant.AdminPassword);

        using var download = await browser.Client.GetAsync("/ui/export");
        var bytes = await download.Content.ReadAsByteArrayAsync();
        using var api = await Bundles.GetExportAsync(host, tenant.Admin.AccessToken, null);
        var expected = Bundles.Parse(await api.Content.ReadAsByteArrayAsync());

        download.StatusCode.Should().Be(HttpStatusCode.OK);
        download.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        download.Content.Headers.ContentDisposition!.DispositionType.Should().Be("attachment");
        download.Content.Headers.ContentDisposition.FileName.Should().Contain(tenant.Id.ToString());
        var bundle = Bundles.Parse(bytes);
        bundle["format"]!.GetValue<string>().Should().Be(expected["format"]!.GetValue<string>());
        bundle["tenant"]!["id"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        bundle["secrets"]!.GetValue<bool>().Should().BeFalse("a tenant admin's export carries no password hashes, as from the API");
        Rows(bundle, "customers").Should().Equal(Rows(expected, "customers"));
        bundle["customers"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(first, second);
        Rows(bundle, "users").Should().Equal(Rows(expected, "users"));
        bundle["checksum"]!["value"]!.GetValue<string>().Should().Be(Bundles.ComputeChecksum(bytes));
    }

    [Fact]
    public async Task TheDownloadIsAuditedAsAnExportByTheSignedInAdmin()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = await UiBrowser.SignInAsync(host.Client.BaseAddress!, tenant.AdminEmail, tenant.AdminPassword);

        var bundle = Bundles.Parse(await (await browser.Client.GetAsync("/ui/export")).Content.ReadAsByteArrayAsync());

        using var log = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=tenant.exported", tenant.Admin.AccessToken);
        var entry = (await log.JsonAsync())["items"]!.AsArray().Single()!;
        entry["actor"]!["email"]!.GetValue<string>().Should().Be(tenant.AdminEmail);
        entry["details"]!["checksum"]!.GetValue<string>().Should().Be(bundle["checksum"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task AMemberIsRefusedWith403()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        using var browser = await UiBrowser.SignInAsync(host.Client.BaseAddress!, member.Body["user"]!["email"]!.GetValue<string>(), "member-password");

        using var response = await browser.Client.GetAsync("/ui/export");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("forbidden"));
    }

    [Fact]
    public async Task AnAnonymousBrowserIsSentToSignIn()
    {
        var host = await ApiHost.SharedAsync();
        using var browser = UiBrowser.Anonymous(host.Client.BaseAddress!);

        using var response = await browser.Client.GetAsync("/ui/export");

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.ToString().Should().Contain("/login").And.Contain("returnUrl=%2Fui%2Fexport");
    }

    [Fact]
    public async Task ABearerTokenDoesNotOpenTheDownload()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = UiBrowser.Anonymous(host.Client.BaseAddress!);
        using var request = ApiHost.Authorized(HttpMethod.Get, "/ui/export", tenant.Admin.AccessToken);

        using var response = await browser.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.Redirect, "UI paths take the cookie only");
    }

    [Fact]
    public async Task ASuperAdminNamesTheTenantAndGetsTheExportWithSecrets()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = await UiBrowser.SignInAsync(host.Client.BaseAddress!, host.SuperAdminEmail, ApiHost.SuperAdminPassword);

        using var unnamed = await browser.Client.GetAsync("/ui/export");
        using var named = await browser.Client.GetAsync($"/ui/export?tenantId={tenant.Id}");

        unnamed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unnamed.ProblemAsync())["errors"]!.AsObject().ContainsKey("tenantId").Should().BeTrue();
        named.StatusCode.Should().Be(HttpStatusCode.OK);
        var bundle = Bundles.Parse(await named.Content.ReadAsByteArrayAsync());
        bundle["tenant"]!["id"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        bundle["secrets"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task ASuspendedTenantsAdminIsSignedOutInsteadOfDownloading()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = await UiBrowser.SignInAsync(host.Client.BaseAddress!, tenant.AdminEmail, tenant.AdminPassword);
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend", new { reason = "unpaid" })).EnsureSuccessStatusCode();

        using var response = await browser.Client.GetAsync("/ui/export");

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.ToString().Should().Contain("/login");
    }

    [Fact]
    public async Task ACanceledTenantsAdminStillDownloadsTheirData()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = await UiBrowser.SignInAsync(host.Client.BaseAddress!, tenant.AdminEmail, tenant.AdminPassword);
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/cancel")).EnsureSuccessStatusCode();

        using var response = await browser.Client.GetAsync("/ui/export");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Bundles.Parse(await response.Content.ReadAsByteArrayAsync())["tenant"]!["id"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
    }

    [Fact]
    public async Task AtTheMonthlyCallLimitTheDownloadIsRefusedLikeTheApiWithTheQuotaNamed()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var browser = await UiBrowser.SignInAsync(host.Client.BaseAddress!, tenant.AdminEmail, tenant.AdminPassword);
        await host.Services.GetRequiredService<AdmissionCache>().SettleAsync(tenant.Id);
        var used = (await AdmissionLeaseTests.QuotasAsync(host, tenant.Id)).Quotas[QuotaNames.ApiCallsMonthly].Used;
        (await host.AdminTenantsAsync(HttpMethod.Put, $"{tenant.Id}/quotas", new { apiCallsMonthly = used })).EnsureSuccessStatusCode();

        using var download = await browser.Client.GetAsync("/ui/export");
        using var api = await host.SendAsync(HttpMethod.Get, "/api/tenants/export", tenant.Admin.AccessToken);

        // The same admission as the API's route (this node's lease): the same refusal, naming the quota.
        download.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        api.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var problem = await download.ProblemAsync();
        var apiProblem = await api.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(apiProblem["type"]!.GetValue<string>());
        problem["quota"]!.GetValue<string>().Should().Be(QuotaNames.ApiCallsMonthly);
        problem["limit"]!.GetValue<long>().Should().Be(used);
    }

    private static List<string> Rows(JsonObject bundle, string name) =>
        bundle[name]!.AsArray().Select(r => r!.ToJsonString()).Order(StringComparer.Ordinal).ToList();
}
