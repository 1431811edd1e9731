using Shohayota.Api.Web.Components.Layout;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Web.Tests.Layout;

public sealed class NavMenuTests : UiTestContext
{
    [Fact]
    public void ASuperAdminSeesTheConsoleAndNoTenantWorkspace()
    {
        AddAuthorization().SetAuthorized("root@example.test").SetRoles(Roles.SuperAdmin);

        var links = Links(Render<NavMenu>());

        links.Should().Contain(["/admin/tenants", "/admin/alerts", "/admin/metrics", "/admin/cluster", "/admin/backups", "/admin/restore"]);
        links.Should().NotContain(["/customers", "/contacts", "/deals", "/pipeline", "/tasks", "/import", "/users", "/settings"]);
    }

    [Fact]
    public void ATenantAdminSeesTheWholeWorkspaceButNoConsole()
    {
        AddAuthorization().SetAuthorized("admin@tenant.test").SetRoles(Roles.TenantAdmin);

        var links = Links(Render<NavMenu>());

        links.Should().BeEquivalentTo(["/customers", "/contacts", "/deals", "/pipeline", "/tasks", "/import", "/users", "/settings", "/audit"]);
    }

    [Fact]
    public void AMemberSeesCustomersContactsDealsThePipelineAndTheirTasksOnly()
    {
        AddAuthorization().SetAuthorized("member@tenant.test").SetRoles(Roles.Member);

        Links(Render<NavMenu>()).Should().BeEquivalentTo(["/customers", "/contacts", "/deals", "/pipeline", "/tasks"]);
    }

    private static List<string> Links(IRenderedComponent<NavMenu> menu) =>
        menu.FindAll("a").Select(a => a.GetAttribute("href")!).ToList();
}
