using System.Net;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Backups;

public sealed class TenantExportTests
{
    [Fact]
    public async Task ASuperAdminExportIsAnAttachmentWithEveryRowPasswordHashesAndAVerifiableChecksum()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var owner = member.Body["user"]!["id"]!.GetValue<string>();
        var first = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken,
            new { name = "Grüße \"quoted\"\nline", email = "c@x.test", tags = new[] { "vip", "a,b" }, ownerUserId = owner });
        var second = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Second" });
        var contact = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new
        {
            firstName = "Ada", lastName = "Grüße \"L\"", email = "ada@x.test", phone = "+44 20", title = "CTO", customerId = first, ownerUserId = owner,
            tags = new[] { "a;b" }, notes = "two\nlines",
        });

        using var response = await Bundles.GetExportAsync(host, await host.SharedSuperAdminTokenAsync(), tenant.Id.ToString());
        var bytes = await response.Content.ReadAsByteArrayAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        response.Content.Headers.ContentDisposition!.DispositionType.Should().Be("attachment");
        response.Content.Headers.ContentDisposition.FileName.Should().Contain(tenant.Id.ToString());
        bytes.Should().NotContain((byte)'\n', "a bundle is one line, so curl -d @file sends it unchanged");
        var bundle = Bundles.Parse(bytes);
        bundle["format"]!.GetValue<string>().Should().Be("shohayota.tenant-export");
        bundle["version"]!.GetValue<int>().Should().Be(4);
        bundle["secrets"]!.GetValue<bool>().Should().BeTrue();
        bundle["tenant"]!["id"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        bundle["plan"]!.GetValue<string>().Should().Be("pro");
        bundle["users"]!.AsArray().Should().HaveCount(2).And.AllSatisfy(u => u!["passwordHash"]!.GetValue<string>().Should().NotBeEmpty());
        var customers = bundle["customers"]!.AsArray();
        customers.Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(first, second);
        var rich = customers.Single(c => c!["id"]!.GetValue<string>() == first)!;
        rich["name"]!.GetValue<string>().Should().Be("Grüße \"quoted\"\nline");
        rich["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal("vip", "a,b");
        rich["ownerUserId"]!.GetValue<string>().Should().Be(owner);
        var exported = bundle["contacts"]!.AsArray().Should().ContainSingle().Subject!.AsObject();
        exported.Select(p => p.Key).Should().Equal(
            "id", "firstName", "lastName", "email", "phone", "title", "customerId", "ownerUserId", "tags", "notes", "customFields", "createdAt", "updatedAt",
            "version");
        exported["id"]!.GetValue<string>().Should().Be(contact);
        exported["lastName"]!.GetValue<string>().Should().Be("Grüße \"L\"");
        exported["customerId"]!.GetValue<string>().Should().Be(first);
        exported["ownerUserId"]!.GetValue<string>().Should().Be(owner);
        exported["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal("a;b");
        exported["notes"]!.GetValue<string>().Should().Be("two\nlines");
        bundle.Select(p => p.Key).Should().ContainInConsecutiveOrder(
            "users", "customFields", "customers", "contacts", "pipeline", "deals", "activities", "auditCheckpoint", "auditLogs", "counts");
        bundle["auditLogs"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).Should().Contain(["tenant.provisioned", "customer.created", "contact.created"]);
        bundle["counts"]!["customers"]!.GetValue<long>().Should().Be(2);
        bundle["counts"]!["contacts"]!.GetValue<long>().Should().Be(1);
        bundle["checksum"]!["algorithm"]!.GetValue<string>().Should().Be("sha256");
        bundle["checksum"]!["value"]!.GetValue<string>().Should().Be(Bundles.ComputeChecksum(bytes));
    }

    [Fact]
    public async Task AnExportCarriesThePipelineInItsOrderAndEveryDealFieldWithTheAmountExactlyAsStored()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var owner = (await host.AddUserAsync(tenant)).Body["user"]!["id"]!.GetValue<string>();
        var sales = await Bundles.SeedSalesAsync(host, tenant, owner);

        var bytes = await Bundles.ExportAsync(host, tenant.Id);

        var bundle = Bundles.Parse(bytes);
        bundle.Select(p => p.Key).Should().ContainInConsecutiveOrder("contacts", "pipeline", "deals", "activities", "auditCheckpoint");
        var pipeline = bundle["pipeline"]!.AsArray().Select(s => s!.AsObject()).ToList();
        pipeline.Select(s => s["name"]!.GetValue<string>()).Should().Equal(sales.StageNames);
        pipeline.Select(s => s["kind"]!.GetValue<string>()).Should().Equal("open", "open", "open", "open", "lost", "won");
        pipeline.Select(s => s["probability"]!.GetValue<int>()).Should().Equal(30, 5, 40, 75, 0, 100);
        pipeline[0].Select(p => p.Key).Should().Equal("id", "name", "kind", "probability");
        var deals = bundle["deals"]!.AsArray().Select(d => d!.AsObject()).ToDictionary(d => d["id"]!.GetValue<string>());
        deals.Keys.Should().BeEquivalentTo(sales.Open, sales.Won, sales.Lost);
        var open = deals[sales.Open];
        open.Select(p => p.Key).Should().Equal("id", "name", "customerId", "contactIds", "amount", "currency", "stageId", "status", "expectedCloseDate",
            "ownerUserId", "closedAt", "customFields", "createdAt", "updatedAt", "version");
        open["name"]!.GetValue<string>().Should().Be("Reactor \"Ünïcode\"");
        open["customerId"]!.GetValue<string>().Should().Be(sales.Customer);
        open["contactIds"]!.AsArray().Select(c => c!.GetValue<string>()).Should().BeEquivalentTo(sales.Contacts);
        open["amount"]!.ToJsonString().Should().Be("1234.5678", "an amount is an exact JSON number, never a float's rounding");
        open["currency"]!.GetValue<string>().Should().Be("EUR");
        open["stageId"]!.GetValue<string>().Should().Be(pipeline[2]["id"]!.GetValue<string>());
        open["status"]!.GetValue<string>().Should().Be("open");
        open["expectedCloseDate"]!.GetValue<string>().Should().Be("2027-02-28");
        open["ownerUserId"]!.GetValue<string>().Should().Be(owner);
        open["closedAt"].Should().BeNull();
        var won = deals[sales.Won];
        won["amount"]!.ToJsonString().Should().Be("99.50", "the amount keeps the scale it was stored with");
        won["status"]!.GetValue<string>().Should().Be("won");
        won["stageId"]!.GetValue<string>().Should().Be(pipeline[5]["id"]!.GetValue<string>());
        won["closedAt"]!.GetValue<string>().Should().MatchRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$");
        won["version"]!.GetValue<int>().Should().Be(2);
        deals[sales.Lost]["status"]!.GetValue<string>().Should().Be("lost");
        deals[sales.Lost]["closedAt"].Should().NotBeNull();
        bundle["counts"]!["deals"]!.GetValue<long>().Should().Be(3);
        bundle["counts"]!.AsObject().ContainsKey("deletedDeals").Should().BeFalse("a full export has no removals");
        bundle["auditLogs"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).Should().Contain(["pipeline.updated", "deal.created", "deal.stage_changed"]);
    }

    [Fact]
    public async Task AnExportCarriesEveryActivityFieldAsStoredWithTimesInUtc()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var assignee = (await host.AddUserAsync(tenant)).Body["user"]!["id"]!.GetValue<string>();
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        var agenda = await Bundles.SeedActivitiesAsync(host, tenant, sales, assignee);

        var bundle = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        bundle.Select(p => p.Key).Should().ContainInConsecutiveOrder("deals", "activities", "auditCheckpoint");
        var activities = bundle["activities"]!.AsArray().Select(a => a!.AsObject()).ToDictionary(a => a["id"]!.GetValue<string>());
        activities.Keys.Should().BeEquivalentTo(agenda.Note, agenda.Task, agenda.Meeting);
        var note = activities[agenda.Note];
        note.Select(p => p.Key).Should().Equal("id", "type", "subject", "body", "dueAt", "assigneeUserId", "customerId", "contactId", "dealId",
            "completedAt", "createdAt", "updatedAt", "version");
        note["type"]!.GetValue<string>().Should().Be("note");
        note["subject"]!.GetValue<string>().Should().Be("Kick-off \"Ünïcode\"");
        note["body"]!.GetValue<string>().Should().Be("First line\nsecond line, Grüße");
        note["customerId"]!.GetValue<string>().Should().Be(sales.Customer);
        foreach (var empty in new[] { "dueAt", "assigneeUserId", "contactId", "dealId", "completedAt" })
        {
            note[empty].Should().BeNull(empty);
        }

        note["version"]!.GetValue<int>().Should().Be(1);
        var task = activities[agenda.Task];
        task["type"]!.GetValue<string>().Should().Be("task");
        task["body"].Should().BeNull();
        task["dueAt"]!.GetValue<string>().Should().Be("2027-03-01T07:30:00.123456Z", "times are UTC with the column's microseconds");
        task["assigneeUserId"]!.GetValue<string>().Should().Be(assignee);
        task["customerId"].Should().BeNull();
        task["contactId"]!.GetValue<string>().Should().Be(sales.Contacts[0]);
        task["dealId"]!.GetValue<string>().Should().Be(sales.Open);
        task["completedAt"]!.GetValue<string>().Should().MatchRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$");
        task["version"]!.GetValue<int>().Should().Be(2, "completing it was its second version");
        var meeting = activities[agenda.Meeting];
        meeting["dueAt"]!.GetValue<string>().Should().Be("2027-04-01T12:00:00.000000Z");
        meeting["completedAt"].Should().BeNull();
        meeting["contactId"]!.GetValue<string>().Should().Be(sales.Contacts[1]);
        bundle["counts"]!["activities"]!.GetValue<long>().Should().Be(3);
        bundle["counts"]!.AsObject().ContainsKey("deletedActivities").Should().BeFalse("a full export has no removals");
        bundle["auditLogs"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).Should().Contain(["activity.created", "activity.completed"]);
    }

    [Fact]
    public async Task ATenantThatNeverUsedThePipelineExportsAnEmptyOne()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        var bundle = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        bundle["pipeline"]!.AsArray().Should().BeEmpty("the default stages are created on first use, not at provisioning");
        bundle["deals"]!.AsArray().Should().BeEmpty();
        bundle["counts"]!["deals"]!.GetValue<long>().Should().Be(0);
        bundle["activities"]!.AsArray().Should().BeEmpty();
        bundle["counts"]!["activities"]!.GetValue<long>().Should().Be(0);
    }

    [Fact]
    public async Task TheExportIsAuditedWithItsChecksumInTheTenantsLog()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        var bundle = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        using var log = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=tenant.exported", tenant.Admin.AccessToken);
        var entry = (await log.JsonAsync())["items"]!.AsArray().Single()!;
        entry["actor"]!["role"]!.GetValue<string>().Should().Be("super_admin");
        entry["details"]!["checksum"]!.GetValue<string>().Should().Be(bundle["checksum"]!["value"]!.GetValue<string>());
        entry["details"]!["secrets"]!.GetValue<bool>().Should().BeTrue();
        entry["seq"]!.GetValue<long>().Should().Be(bundle["auditLogs"]!.AsArray().Count + 1, "the export's own entry follows its snapshot");
    }

    [Fact]
    public async Task ATenantAdminExportsTheirOwnTenantWithoutSecrets()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var implicitOwn = await Bundles.GetExportAsync(host, tenant.Admin.AccessToken, null);
        using var explicitOwn = await Bundles.GetExportAsync(host, tenant.Admin.AccessToken, tenant.Id.ToString());

        implicitOwn.StatusCode.Should().Be(HttpStatusCode.OK);
        explicitOwn.StatusCode.Should().Be(HttpStatusCode.OK);
        var bytes = await implicitOwn.Content.ReadAsByteArrayAsync();
        var bundle = Bundles.Parse(bytes);
        bundle["secrets"]!.GetValue<bool>().Should().BeFalse();
        bundle["users"]!.AsArray().Should().AllSatisfy(u => u!.AsObject().ContainsKey("passwordHash").Should().BeFalse());
        bundle["checksum"]!["value"]!.GetValue<string>().Should().Be(Bundles.ComputeChecksum(bytes));
    }

    [Fact]
    public async Task AnotherTenantsExportIsForbiddenAndMembersMayNotExport()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(a);

        using var foreign = await Bundles.GetExportAsync(host, a.Admin.AccessToken, b.Id.ToString());
        using var byMember = await Bundles.GetExportAsync(host, member.AccessToken, null);

        foreign.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await foreign.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("forbidden"));
        byMember.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ACanceledTenantExportsDuringRetentionASuspendedOneOnlyThroughItsOperator()
    {
        var host = await ApiHost.SharedAsync();
        var canceled = await host.ProvisionTenantAsync();
        var suspended = await host.ProvisionTenantAsync();
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{canceled.Id}/cancel")).EnsureSuccessStatusCode();
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{suspended.Id}/suspend")).EnsureSuccessStatusCode();

        using var byCanceledAdmin = await Bundles.GetExportAsync(host, canceled.Admin.AccessToken, null);
        using var bySuspendedAdmin = await Bundles.GetExportAsync(host, suspended.Admin.AccessToken, null);
        using var byOperator = await Bundles.GetExportAsync(host, await host.SharedSuperAdminTokenAsync(), suspended.Id.ToString());

        byCanceledAdmin.StatusCode.Should().Be(HttpStatusCode.OK);
        Bundles.Parse(await byCanceledAdmin.Content.ReadAsByteArrayAsync())["tenant"]!["status"]!.GetValue<string>().Should().Be("canceled");
        bySuspendedAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await bySuspendedAdmin.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-suspended"));
        byOperator.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ASuperAdminNamesAnExistingTenant()
    {
        var host = await ApiHost.SharedAsync();
        var token = await host.SharedSuperAdminTokenAsync();

        using var unnamed = await Bundles.GetExportAsync(host, token, null);
        using var missing = await Bundles.GetExportAsync(host, token, Guid.NewGuid().ToString());
        using var system = await Bundles.GetExportAsync(host, token, Guid.Empty.ToString());

        unnamed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unnamed.ProblemAsync())["errors"]!.AsObject().ContainsKey("tenantId").Should().BeTrue();
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        system.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ALargeTenantIsExportedWhole()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await Bundles.SeedCustomersAsync(host, tenant.Id, 5_000);

        var bytes = await Bundles.ExportAsync(host, tenant.Id);

        var bundle = Bundles.Parse(bytes);
        bundle["customers"]!.AsArray().Should().HaveCount(5_000);
        bundle["counts"]!["customers"]!.GetValue<long>().Should().Be(5_000);
        bundle["checksum"]!["value"]!.GetValue<string>().Should().Be(Bundles.ComputeChecksum(bytes));
    }
}
