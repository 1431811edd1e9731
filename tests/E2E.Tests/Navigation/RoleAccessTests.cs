using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Navigation;

public sealed class RoleAccessTests(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    private const string MemberPassword = "member-password";
    private static readonly string[] SuperAdminLinks = ["Super Admin", "Alerts", "Metrics", "Cluster", "Backups", "Restore", "System audit log"];
    private static readonly string[] TenantAdminLinks = ["Import", "Users", "Settings", "Audit log"];
    private static readonly string[] WorkspaceLinks = ["Customers", "Contacts", "Deals", "Pipeline", "My tasks"];

    [Fact]
    public async Task MemberSeesNoLinksToAdminPages()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", MemberPassword);

        await SignInAtAsync("/denied", member.Email, MemberPassword);

        foreach (var name in WorkspaceLinks)
        {
            await Assertions.Expect(Link(name)).ToBeVisibleAsync();
        }

        foreach (var name in TenantAdminLinks.Concat(SuperAdminLinks))
        {
            await Assertions.Expect(Link(name)).ToHaveCountAsync(0);
        }

        await ScreenshotAsync("member-navigation");
    }

    [Fact]
    public async Task TenantAdminSeesTheWorkspaceLinksOnly()
    {
        var tenant = await Server.ProvisionTenantAsync();

        await SignInAtAsync("/denied", tenant.AdminEmail, tenant.AdminPassword);

        foreach (var name in WorkspaceLinks.Concat(TenantAdminLinks))
        {
            await Assertions.Expect(Link(name)).ToBeVisibleAsync();
        }

        foreach (var name in SuperAdminLinks)
        {
            await Assertions.Expect(Link(name)).ToHaveCountAsync(0);
        }
    }

    [Fact]
    public async Task SuperAdminSeesTheConsoleLinksOnly()
    {
        await SignInAtAsync("/denied", Server.SuperAdminEmail, UiServer.SuperAdminPassword);

        foreach (var name in SuperAdminLinks)
        {
            await Assertions.Expect(Link(name)).ToBeVisibleAsync();
        }

        foreach (var name in WorkspaceLinks.Concat(TenantAdminLinks))
        {
            await Assertions.Expect(Link(name)).ToHaveCountAsync(0);
        }
    }

    [Fact]
    public async Task MemberSeesNoAccessWhereAccessIsDenied()
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", MemberPassword);

        await SignInAtAsync("/denied", member.Email, MemberPassword);

        await Assertions.Expect(Page.GetByTestId("no-access")).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByTestId("signed-in-as")).ToHaveTextAsync(member.Email);
    }

    [Theory]
    [InlineData("/users")]
    [InlineData("/settings")]
    [InlineData("/audit")]
    [InlineData("/import")]
    [InlineData("/pipeline/settings")]
    [InlineData("/admin/tenants")]
    public async Task MemberCannotOpenAnAdminPageByUrl(string path)
    {
        var tenant = await Server.ProvisionTenantAsync();
        var member = await Server.CreateUserAsync(tenant, "member", MemberPassword);
        await SignInAtAsync("/customers", member.Email, MemberPassword);

        await Page.GotoAsync(path);

        // The server refuses the page itself (the role is checked before any of it runs) and shows "No access".
        await Assertions.Expect(Page.GetByTestId("no-access")).ToBeVisibleAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(PathIs($"/denied?returnUrl={Uri.EscapeDataString(path)}"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("No access");
    }

    private ILocator Link(string name) => Page.GetByRole(AriaRole.Link, new() { Name = name, Exact = true });

    private async Task SignInAtAsync(string path, string email, string password)
    {
        await Page.GotoAsync($"/login?returnUrl={Uri.EscapeDataString(path)}");
        await SignInAsync(Page, email, password);
        await ArriveAtAsync(Page, PathIs(path));
    }
}
