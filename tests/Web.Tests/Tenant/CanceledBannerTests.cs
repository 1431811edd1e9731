using Shohayota.Api.Web.Components.Pages.Tenant;
using Shohayota.Grains.Interfaces.Tenants;

namespace Shohayota.Web.Tests.Tenant;

public sealed class CanceledBannerTests : UiTestContext
{
    [Theory]
    [InlineData(TenantStatus.Active)]
    [InlineData(TenantStatus.Suspended)]
    [InlineData(TenantStatus.Deleted)]
    public void NoBannerUnlessCanceled(TenantStatus status)
    {
        var banner = Render<CanceledBanner>(p => p.Add(b => b.Tenant, Tenant(status)).Add(b => b.CanExport, true));

        banner.Markup.Trim().Should().BeEmpty();
    }

    [Fact]
    public void NoBannerWithoutATenant()
    {
        Render<CanceledBanner>().Markup.Trim().Should().BeEmpty();
    }

    [Fact]
    public void ACanceledTenantsAdminSeesTheRetentionDateAndTheExportDownload()
    {
        var banner = Render<CanceledBanner>(p => p.Add(b => b.Tenant, Tenant(TenantStatus.Canceled)).Add(b => b.CanExport, true));

        banner.Find("[data-testid=tenant-banner]").TextContent.Should().Contain("read-only");
        banner.Find("[data-testid=retention-date]").TextContent.Should().Contain("15 January 2027");
        var export = banner.Find("[data-testid=banner-export]");
        export.GetAttribute("href").Should().Be("/ui/export");
        export.HasAttribute("download").Should().BeTrue();
        export.TextContent.Trim().Should().Be("Export Data");
    }

    [Fact]
    public void AMemberSeesTheNoticeButNoExport()
    {
        var banner = Render<CanceledBanner>(p => p.Add(b => b.Tenant, Tenant(TenantStatus.Canceled)).Add(b => b.CanExport, false));

        banner.Find("[data-testid=retention-date]").TextContent.Should().Contain("15 January 2027").And.Contain("admin");
        banner.FindAll("a").Should().BeEmpty();
    }

    private static TenantDetails Tenant(TenantStatus status) => new(
        Guid.NewGuid(), "Acme", "contact@acme.test", "pro", status, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch,
        status == TenantStatus.Canceled ? new DateTimeOffset(2027, 1, 15, 10, 0, 0, TimeSpan.Zero) : null);
}
