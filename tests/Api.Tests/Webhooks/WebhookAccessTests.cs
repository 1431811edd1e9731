using System.Net;
using Shohayota.Api.Tests.Backups;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Webhooks;

/// <summary>
/// Who may register a webhook and where it may point, with the production rules (the shared host does not allow local
/// targets): every spelling of an internal address is refused by field, and nothing is written.
/// </summary>
public sealed class WebhookAccessTests
{
    [Theory]
    [InlineData("http://93.184.215.14/hook")]
    [InlineData("https://localhost/hook")]
    [InlineData("https://LOCALHOST./hook")]
    [InlineData("https://127.0.0.1/hook")]
    [InlineData("https://127.1/hook")]
    [InlineData("https://2130706433/hook")]
    [InlineData("https://0x7f000001/hook")]
    [InlineData("https://017700000001/hook")]
    [InlineData("https://0.0.0.0/hook")]
    [InlineData("https://[::1]/hook")]
    [InlineData("https://[::]/hook")]
    [InlineData("https://[::ffff:127.0.0.1]/hook")]
    [InlineData("https://[::ffff:7f00:1]/hook")]
    [InlineData("https://10.1.2.3/hook")]
    [InlineData("https://172.16.0.1/hook")]
    [InlineData("https://192.168.1.10/hook")]
    [InlineData("https://100.64.0.1/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://[fe80::1]/hook")]
    [InlineData("https://[fd00:ec2::254]/hook")]
    [InlineData("https://user:password@93.184.215.14/hook")]
    [InlineData("ftp://93.184.215.14/hook")]
    [InlineData("/relative/hook")]
    public async Task AnInternalOrUnsafeTargetIsRefusedByFieldAndNothingIsWritten(string url)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var created = await host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken, new { url, events = new[] { "customer.created" } });

        created.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await created.ProblemAsync())["errors"]!["url"].Should().NotBeNull();
        (await Bundles.CountAsync(host, "webhooks", tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task AWebhookMovedToAnInternalTargetIsRefusedToo()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var created = await host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken,
            new { url = "https://93.184.215.14/hook", events = new[] { "customer.created" } });
        var id = (await created.JsonAsync())["id"]!.GetValue<string>();

        using var moved = await host.SendAsync(HttpMethod.Put, $"/api/webhooks/{id}", tenant.Admin.AccessToken,
            new { url = "https://[::ffff:169.254.169.254]/", events = new[] { "customer.created" }, active = true });
        using var unknownEvent = await host.SendAsync(HttpMethod.Put, $"/api/webhooks/{id}", tenant.Admin.AccessToken,
            new { url = "https://93.184.215.14/hook", events = new[] { "customer.exploded" }, active = true });
        using var get = await host.SendAsync(HttpMethod.Get, $"/api/webhooks/{id}", tenant.Admin.AccessToken);

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        moved.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await moved.ProblemAsync())["errors"]!["url"].Should().NotBeNull();
        unknownEvent.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unknownEvent.ProblemAsync())["errors"]!["events"].Should().NotBeNull();
        (await get.JsonAsync())["url"]!.GetValue<string>().Should().Be("https://93.184.215.14/hook");
    }

    [Fact]
    public async Task MembersAndApiKeysEvenAnAdminsManageNoWebhooks()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        using var key = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken, new { name = "admin job", role = "tenant_admin" });
        var adminKey = (await key.JsonAsync())["secret"]!.GetValue<string>();
        var body = new { url = "https://93.184.215.14/hook", events = new[] { "customer.created" } };

        foreach (var token in new[] { member.AccessToken, adminKey })
        {
            using var list = await host.SendAsync(HttpMethod.Get, "/api/webhooks", token);
            using var create = await host.SendAsync(HttpMethod.Post, "/api/webhooks", token, body);
            list.StatusCode.Should().Be(HttpStatusCode.Forbidden);
            create.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        (await Bundles.CountAsync(host, "webhooks", tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task ATenantRegistersAtMostTenWebhooks()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var body = new { url = "https://93.184.215.14/hook", events = new[] { "customer.created" }, active = false };
        for (var i = 0; i < 10; i++)
        {
            (await host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken, body)).StatusCode.Should().Be(HttpStatusCode.Created);
        }

        using var eleventh = await host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken, body);

        eleventh.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await Bundles.CountAsync(host, "webhooks", tenant.Id)).Should().Be(10);
    }

    [Fact]
    public async Task AHardDeletedTenantsWebhooksEventsAndDeliveriesAreRemoved()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using (var created = await host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken,
            new { url = "https://93.184.215.14/hook", events = new[] { "customer.created" } }))
        {
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        (await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Evented" })).EnsureSuccessStatusCode().Dispose();
        var pending = await Bundles.CountAsync(host, "webhook_deliveries", tenant.Id);

        using var delete = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/delete", new { hardDelete = true, force = true });

        pending.Should().Be(1, "the customer's creation was queued for the webhook");
        delete.StatusCode.Should().Be(HttpStatusCode.OK);
        foreach (var table in new[] { "webhooks", "webhook_events", "webhook_deliveries" })
        {
            (await Bundles.CountAsync(host, table, tenant.Id)).Should().Be(0, table);
        }
    }
}
