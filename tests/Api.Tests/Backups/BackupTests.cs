using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Backups;

public sealed class BackupTests(BackupHost fixture) : IClassFixture<BackupHost>
{
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task TheRestoreDrillRecoversExactlyTheDataAsOfTheIncrementalBackup()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var changed = await Bundles.CreateCustomerAsync(_host, token, new { name = "Changed later" });
        var deleted = await Bundles.CreateCustomerAsync(_host, token, new { name = "Deleted later" });
        var untouched = await Bundles.CreateCustomerAsync(_host, token, new { name = "Untouched" });
        var moved = await Bundles.CreateContactAsync(_host, token, new { firstName = "Moved", lastName = "Later", customerId = untouched, tags = new[] { "old" } });
        var removed = await Bundles.CreateContactAsync(_host, token, new { lastName = "Removed later" });
        var cascaded = await Bundles.CreateContactAsync(_host, token, new { lastName = "Goes with its customer", customerId = deleted });
        var kept = await Bundles.CreateContactAsync(_host, token, new { lastName = "Untouched", customerId = untouched });
        var full = await RunAsync("full");
        using (var update = await _host.SendAsync(HttpMethod.Put, $"/api/customers/{changed}", token, new { name = "Changed", tags = new[] { "new" } }))
        using (var delete = await _host.SendAsync(HttpMethod.Delete, $"/api/customers/{deleted}?cascade=true", token))
        using (var move = await _host.SendAsync(HttpMethod.Put, $"/api/contacts/{moved}", token,
            new { firstName = "Moved", lastName = "Now", customerId = changed, tags = new[] { "new" }, notes = "moved between backups" }))
        using (var remove = await _host.SendAsync(HttpMethod.Delete, $"/api/contacts/{removed}", token))
        {
            update.EnsureSuccessStatusCode();
            delete.EnsureSuccessStatusCode();
            move.EnsureSuccessStatusCode();
            remove.EnsureSuccessStatusCode();
        }

        var added = await Bundles.CreateCustomerAsync(_host, token, new { name = "Added" });
        var member = await _host.AddUserAsync(tenant);
        var owner = member.Body["user"]!["id"]!.GetValue<string>();
        var created = await Bundles.CreateContactAsync(_host, token, new { lastName = "Created between backups", customerId = added, ownerUserId = owner });
        var transient = await Bundles.CreateContactAsync(_host, token, new { lastName = "Created and deleted between backups" });
        using (var update = await _host.SendAsync(HttpMethod.Put, $"/api/contacts/{created}", token,
            new { firstName = "Then", lastName = "Updated", email = "then@example.test", title = "Buyer", customerId = added, ownerUserId = owner, tags = new[] { "t" } }))
        using (var delete = await _host.SendAsync(HttpMethod.Delete, $"/api/contacts/{transient}", token))
        {
            update.EnsureSuccessStatusCode();
            delete.EnsureSuccessStatusCode();
        }

        var incremental = await RunAsync("incremental");
        var expected = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));
        using (var afterBackup = await _host.SendAsync(HttpMethod.Post, "/api/customers", token, new { name = "After the last backup" }))
        {
            afterBackup.EnsureSuccessStatusCode();
        }

        await Bundles.CreateContactAsync(_host, token, new { lastName = "After the last backup", customerId = untouched });
        await Bundles.PurgeAsync(_host, tenant.Id);

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());
        var actual = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));

        incremental["previous"]!.GetValue<string>().Should().Be(full["id"]!.GetValue<string>());
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        (await restore.JsonAsync())["backupId"]!.GetValue<string>().Should().Be(incremental["id"]!.GetValue<string>());
        JsonNode.DeepEquals(Bundles.Data(actual, dropLastAuditEntries: 1), Bundles.Data(expected)).Should().BeTrue();
        actual["customers"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(changed, untouched, added);
        actual["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(moved, kept, created);
        actual["users"]!.AsArray().Should().HaveCount(2);
        var increment = Bundles.Parse(await File.ReadAllBytesAsync(
            Path.Combine(fixture.BackupDirectory, incremental["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json")));
        increment["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(moved, created);
        increment["deletedContacts"]!.AsArray().Select(id => id!.GetValue<string>()).Should().BeEquivalentTo(removed, cascaded, transient);
        increment["deletedCustomers"]!.AsArray().Select(id => id!.GetValue<string>()).Should().Equal(deleted);
        await _host.LoginAsync(member.Body["user"]!["email"]!.GetValue<string>(), "member-password");
    }

    [Fact]
    public async Task TheRestoreDrillRecoversDealsAndThePipelineAsOfTheIncrementalBackup()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var owner = (await _host.AddUserAsync(tenant)).Body["user"]!["id"]!.GetValue<string>();
        var keeps = await Bundles.CreateCustomerAsync(_host, token, new { name = "Keeps its deals" });
        var doomed = await Bundles.CreateCustomerAsync(_host, token, new { name = "Deleted with its deals" });
        var buyer = await Bundles.CreateContactAsync(_host, token, new { lastName = "Buyer", customerId = keeps });
        var payer = await Bundles.CreateContactAsync(_host, token, new { lastName = "Payer", customerId = keeps });
        var leaver = await Bundles.CreateContactAsync(_host, token, new { lastName = "Leaves between backups", customerId = keeps });
        var stages = (await Bundles.StagesAsync(_host, token)).ToDictionary(s => s["name"]!.GetValue<string>(), s => s);
        string Id(string name) => stages[name]["id"]!.GetValue<string>();
        var moved = await Bundles.CreateDealAsync(_host, token, new { name = "Moves to won", customerId = keeps, amount = 10, currency = "EUR" });
        var updated = await Bundles.CreateDealAsync(_host, token,
            new { name = "Updated", customerId = keeps, contactIds = new[] { buyer }, amount = 20, currency = "EUR", stageId = Id("Proposal") });
        var deleted = await Bundles.CreateDealAsync(_host, token, new { name = "Deleted", customerId = keeps, amount = 30, currency = "EUR" });
        var cascaded = await Bundles.CreateDealAsync(_host, token,
            new { name = "Goes with its customer", customerId = doomed, amount = 40, currency = "EUR", stageId = Id("Won") });
        var untouched = await Bundles.CreateDealAsync(_host, token,
            new { name = "Untouched", customerId = keeps, contactIds = new[] { buyer, payer }, amount = 50.25m, currency = "GBP", stageId = Id("Proposal") });
        var flipped = await Bundles.CreateDealAsync(_host, token,
            new { name = "Its stage becomes lost", customerId = keeps, amount = 60, currency = "EUR", stageId = Id("Negotiation") });
        var unlinked = await Bundles.CreateDealAsync(_host, token,
            new { name = "Loses its contact", customerId = keeps, contactIds = new[] { leaver }, amount = 70, currency = "EUR" });
        var shifted = await Bundles.CreateDealAsync(_host, token,
            new { name = "Moved by the pipeline", customerId = keeps, amount = 80, currency = "EUR", stageId = Id("Qualified") });
        var full = await RunAsync("full");

        await Bundles.MoveDealAsync(_host, token, moved, Id("Qualified"));
        await Bundles.MoveDealAsync(_host, token, moved, Id("Won"));
        await PutDealAsync(token, updated, new
        {
            name = "Updated between backups", customerId = keeps, contactIds = new[] { buyer, payer }, amount = 1234.5678m, currency = "USD",
            stageId = Id("Proposal"), expectedCloseDate = "2027-12-31", ownerUserId = owner,
        });
        await PutDealAsync(token, unlinked, new { name = "Loses its contact", customerId = keeps, contactIds = Array.Empty<string>(), amount = 70, currency = "EUR", stageId = Id("Lead") });
        (await _host.SendAsync(HttpMethod.Delete, $"/api/contacts/{leaver}", token)).EnsureSuccessStatusCode();
        (await _host.SendAsync(HttpMethod.Delete, $"/api/deals/{deleted}", token)).EnsureSuccessStatusCode();
        (await _host.SendAsync(HttpMethod.Delete, $"/api/customers/{doomed}?cascade=true", token)).EnsureSuccessStatusCode();
        await Bundles.MoveDealAsync(_host, token, flipped, Id("Lead"));
        await Bundles.ReplaceStagesAsync(_host, token,
        [
            Bundles.Stage(stages["Lead"]),
            Bundles.Stage(stages["Proposal"], "Offer"),
            Bundles.Stage(stages["Negotiation"], "Walked away", "lost", 0),
            Bundles.Stage(stages["Won"]),
            Bundles.Stage(stages["Lost"]),
            new { name = "Added between backups", kind = "open", probability = 60 },
        ], moveTo: Id("Lead"));
        await Bundles.MoveDealAsync(_host, token, flipped, Id("Negotiation"));
        var created = await Bundles.CreateDealAsync(_host, token,
            new { name = "Created between backups", customerId = keeps, contactIds = new[] { payer }, amount = 0.0001m, currency = "EUR", stageId = Id("Proposal") });
        var incremental = await RunAsync("incremental");
        var expected = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));
        var afterBackup = await Bundles.CreateDealAsync(_host, token, new { name = "After the last backup", customerId = keeps, amount = 1, currency = "EUR" });
        await Bundles.PurgeAsync(_host, tenant.Id);

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());
        var actual = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));

        incremental["previous"]!.GetValue<string>().Should().Be(full["id"]!.GetValue<string>());
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        JsonNode.DeepEquals(Bundles.Data(actual, dropLastAuditEntries: 1), Bundles.Data(expected)).Should().BeTrue();
        actual["deals"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).Should().BeEquivalentTo(moved, updated, untouched, flipped, unlinked, shifted, created);
        actual["pipeline"]!.AsArray().Select(s => s!["name"]!.GetValue<string>())
            .Should().Equal("Lead", "Offer", "Walked away", "Won", "Lost", "Added between backups");
        var restored = actual["deals"]!.AsArray().ToDictionary(d => d!["id"]!.GetValue<string>(), d => d!);
        restored[flipped]["status"]!.GetValue<string>().Should().Be("lost");
        restored[updated]["amount"]!.ToJsonString().Should().Be("1234.5678");
        restored[updated]["contactIds"]!.AsArray().Select(c => c!.GetValue<string>()).Should().BeEquivalentTo(buyer, payer);
        restored[shifted]["stageId"]!.GetValue<string>().Should().Be(Id("Lead"));
        restored.Should().NotContainKey(afterBackup);
        (await Bundles.CountAsync(_host, "deal_contacts", tenant.Id)).Should().Be(5);
        var increment = Bundles.Parse(await File.ReadAllBytesAsync(
            Path.Combine(fixture.BackupDirectory, incremental["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json")));
        increment.Select(p => p.Key).Should().ContainInConsecutiveOrder(
            "contacts", "deletedContacts", "pipeline", "deals", "deletedDeals", "activities", "deletedActivities", "auditLogs");
        increment["deals"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).Should().BeEquivalentTo(moved, updated, flipped, unlinked, shifted, created);
        increment["deletedDeals"]!.AsArray().Select(id => id!.GetValue<string>()).Should().BeEquivalentTo(deleted, cascaded);
        increment["counts"]!["deals"]!.GetValue<long>().Should().Be(6);
        increment["counts"]!["deletedDeals"]!.GetValue<long>().Should().Be(2);
        JsonNode.DeepEquals(increment["pipeline"], expected["pipeline"]).Should().BeTrue("an increment carries the whole pipeline");
    }

    [Theory]
    [InlineData("removed customer")]
    [InlineData("removed contact")]
    [InlineData("removed stage")]
    [InlineData("stage of another kind")]
    [InlineData("unknown customer")]
    [InlineData("unknown contact")]
    public async Task AnIncrementThatWouldLeaveADealReferringToWhatTheChainDoesNotHoldIsRefusedByName(string defect)
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await Bundles.CreateCustomerAsync(_host, token, new { name = "In the full backup" });
        var contact = await Bundles.CreateContactAsync(_host, token, new { lastName = "On the deal, not the customer's" });
        var lead = (await Bundles.StagesAsync(_host, token))[0]["id"]!.GetValue<string>();
        var deal = await Bundles.CreateDealAsync(_host, token, new { name = "In the full backup", customerId = customer, contactIds = new[] { contact }, amount = 1, currency = "EUR" });
        await RunAsync("full");
        var added = await Bundles.CreateDealAsync(_host, token, new { name = "In the increment", customerId = customer, amount = 2, currency = "EUR", stageId = lead });
        var incremental = await RunAsync("incremental");
        await Bundles.PurgeAsync(_host, tenant.Id);
        var unknown = Guid.NewGuid().ToString();
        await RewriteTenantFileAsync(incremental["id"]!.GetValue<string>(), tenant.Id, bundle => Bundles.EditAndSign(bundle, json =>
        {
            var pipeline = json["pipeline"]!.AsArray();
            switch (defect)
            {
                case "removed customer":
                    json["deletedCustomers"]!.AsArray().Add(customer);
                    json["counts"]!["deletedCustomers"] = 1;
                    json["deals"] = new JsonArray();
                    json["deletedDeals"]!.AsArray().Add(added);
                    json["counts"]!["deals"] = 0;
                    json["counts"]!["deletedDeals"] = 1;
                    break;
                case "removed contact":
                    json["deletedContacts"]!.AsArray().Add(contact);
                    json["counts"]!["deletedContacts"] = 1;
                    break;
                case "removed stage":
                    json["deals"]![0]!["stageId"] = pipeline[1]!["id"]!.GetValue<string>();
                    pipeline.RemoveAt(0);
                    break;
                case "stage of another kind":
                    json["deals"]![0]!["stageId"] = pipeline[1]!["id"]!.GetValue<string>();
                    pipeline[0]!["kind"] = "lost";
                    break;
                case "unknown customer":
                    json["deals"]![0]!["customerId"] = unknown;
                    break;
                case "unknown contact":
                    json["deals"]![0]!["contactIds"]!.AsArray().Add(unknown);
                    break;
            }
        }));

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(defect switch
        {
            "removed customer" => $"deletedCustomers: customer {customer} is removed, but deal {deal} still refers to it",
            "removed contact" => $"deletedContacts: contact {contact} is removed, but deal {deal} still refers to it",
            "removed stage" or "stage of another kind" => $"pipeline: stage {lead} is removed or has another kind now, but deal {deal} is still in it as open",
            "unknown customer" => $"deals[0] ({added}): customerId {unknown} is not a customer in the bundle or the bundles before it",
            _ => $"deals[0] ({added}): contactIds: {unknown} is not a contact in the bundle or the bundles before it",
        });
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task TheRestoreDrillRecoversActivitiesAsOfTheIncrementalBackup()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var assignee = (await _host.AddUserAsync(tenant)).Body["user"]!["id"]!.GetValue<string>();
        var keeps = await Bundles.CreateCustomerAsync(_host, token, new { name = "Keeps its activities" });
        var doomed = await Bundles.CreateCustomerAsync(_host, token, new { name = "Deleted with its activities" });
        var buyer = await Bundles.CreateContactAsync(_host, token, new { lastName = "Buyer", customerId = keeps });
        var leaver = await Bundles.CreateContactAsync(_host, token, new { lastName = "Leaves between backups" });
        var stages = (await Bundles.StagesAsync(_host, token)).ToDictionary(s => s["name"]!.GetValue<string>(), s => s);
        string Id(string name) => stages[name]["id"]!.GetValue<string>();
        var flipped = await Bundles.CreateDealAsync(_host, token,
            new { name = "Its stage becomes lost", customerId = keeps, amount = 60, currency = "EUR", stageId = Id("Negotiation") });
        var updated = await Bundles.CreateActivityAsync(_host, token, new { type = "call", subject = "Call", customerId = keeps });
        var completed = await Bundles.CreateActivityAsync(_host, token,
            new { type = "task", subject = "Completed between backups", dueAt = "2027-01-15T08:00:00Z", contactId = buyer });
        var reopened = await Bundles.CreateActivityAsync(_host, token, new { type = "task", subject = "Reopened between backups", dealId = flipped });
        await Bundles.CompleteActivityAsync(_host, token, reopened);
        var deleted = await Bundles.CreateActivityAsync(_host, token, new { type = "note", subject = "Deleted", body = "gone", customerId = keeps });
        var onLeaver = await Bundles.CreateActivityAsync(_host, token, new { type = "note", subject = "Deleted before its contact", contactId = leaver });
        var cascaded = await Bundles.CreateActivityAsync(_host, token, new { type = "note", subject = "Goes with its customer", customerId = doomed });
        var onFlipped = await Bundles.CreateActivityAsync(_host, token,
            new { type = "meeting", subject = "About the deal whose stage changes kind", dueAt = "2027-02-01T10:00:00Z", dealId = flipped, customerId = keeps });
        var untouched = await Bundles.CreateActivityAsync(_host, token, new { type = "note", subject = "Untouched", body = "line\nline", contactId = buyer });
        var full = await RunAsync("full");

        await PutActivityAsync(token, updated, new
        {
            type = "call", subject = "Call, rescheduled", body = "Moved to Friday", dueAt = "2027-05-07T15:45:30.5Z", assigneeUserId = assignee,
            customerId = keeps, contactId = buyer, dealId = flipped,
        });
        await Bundles.CompleteActivityAsync(_host, token, completed);
        await Bundles.CompleteActivityAsync(_host, token, reopened, done: false);
        (await _host.SendAsync(HttpMethod.Delete, $"/api/activities/{deleted}", token)).EnsureSuccessStatusCode();
        (await _host.SendAsync(HttpMethod.Delete, $"/api/activities/{onLeaver}", token)).EnsureSuccessStatusCode();
        (await _host.SendAsync(HttpMethod.Delete, $"/api/contacts/{leaver}", token)).EnsureSuccessStatusCode();
        (await _host.SendAsync(HttpMethod.Delete, $"/api/customers/{doomed}?cascade=true", token)).EnsureSuccessStatusCode();
        // The deal leaves its stage, the stage becomes lost, the deal goes back: the restore must move a deal that activities refer to.
        await Bundles.MoveDealAsync(_host, token, flipped, Id("Lead"));
        await Bundles.ReplaceStagesAsync(_host, token,
        [
            Bundles.Stage(stages["Lead"]), Bundles.Stage(stages["Qualified"]), Bundles.Stage(stages["Proposal"]),
            Bundles.Stage(stages["Negotiation"], "Walked away", "lost", 0), Bundles.Stage(stages["Won"]), Bundles.Stage(stages["Lost"]),
        ]);
        await Bundles.MoveDealAsync(_host, token, flipped, Id("Negotiation"));
        var created = await Bundles.CreateActivityAsync(_host, token,
            new { type = "task", subject = "Created between backups", dueAt = "2027-06-01T00:00:00Z", assigneeUserId = assignee, dealId = flipped, contactId = buyer });
        var incremental = await RunAsync("incremental");
        var expected = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));
        var afterBackup = await Bundles.CreateActivityAsync(_host, token, new { type = "note", subject = "After the last backup", customerId = keeps });
        await Bundles.PurgeAsync(_host, tenant.Id);

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());
        var actual = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));

        incremental["previous"]!.GetValue<string>().Should().Be(full["id"]!.GetValue<string>());
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        (await restore.JsonAsync())["counts"]!["activities"]!.GetValue<long>().Should().Be(6);
        JsonNode.DeepEquals(Bundles.Data(actual, dropLastAuditEntries: 1), Bundles.Data(expected)).Should().BeTrue();
        var restored = actual["activities"]!.AsArray().ToDictionary(a => a!["id"]!.GetValue<string>(), a => a!);
        restored.Keys.Should().BeEquivalentTo(updated, completed, reopened, onFlipped, untouched, created);
        restored[updated]["subject"]!.GetValue<string>().Should().Be("Call, rescheduled");
        restored[updated]["dueAt"]!.GetValue<string>().Should().Be("2027-05-07T15:45:30.500000Z");
        restored[updated]["assigneeUserId"]!.GetValue<string>().Should().Be(assignee);
        restored[updated]["dealId"]!.GetValue<string>().Should().Be(flipped);
        restored[completed]["completedAt"].Should().NotBeNull();
        restored[reopened]["completedAt"].Should().BeNull();
        actual["deals"]!.AsArray().Single()!["status"]!.GetValue<string>().Should().Be("lost");
        restored.Should().NotContainKey(afterBackup);
        var increment = Bundles.Parse(await File.ReadAllBytesAsync(
            Path.Combine(fixture.BackupDirectory, incremental["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json")));
        increment.Select(p => p.Key).Should().ContainInConsecutiveOrder("deals", "deletedDeals", "activities", "deletedActivities", "auditLogs");
        increment["activities"]!.AsArray().Select(a => a!["id"]!.GetValue<string>()).Should().BeEquivalentTo(updated, completed, reopened, created);
        increment["deletedActivities"]!.AsArray().Select(id => id!.GetValue<string>()).Should().BeEquivalentTo(deleted, onLeaver, cascaded);
        increment["counts"]!["activities"]!.GetValue<long>().Should().Be(4);
        increment["counts"]!["deletedActivities"]!.GetValue<long>().Should().Be(3);
        using var details = await _host.SendAsync(HttpMethod.Get, $"/api/admin/backups/{incremental["id"]}", await _host.SharedSuperAdminTokenAsync());
        var file = (await details.JsonAsync())["files"]!.AsArray().Single(f => f!["tenantId"]?.GetValue<string>() == tenant.Id.ToString())!;
        file["activities"]!.GetValue<long>().Should().Be(4);
        file["deletedActivities"]!.GetValue<long>().Should().Be(3);
    }

    [Theory]
    [InlineData("removed deal")]
    [InlineData("removed contact")]
    [InlineData("removed customer")]
    [InlineData("unknown deal")]
    [InlineData("unknown contact")]
    [InlineData("unknown assignee")]
    public async Task AnIncrementThatWouldLeaveAnActivityReferringToWhatTheChainDoesNotHoldIsRefusedByName(string defect)
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await Bundles.CreateCustomerAsync(_host, token, new { name = "Only an activity refers to it" });
        var buyer = await Bundles.CreateCustomerAsync(_host, token, new { name = "Has the deal" });
        var contact = await Bundles.CreateContactAsync(_host, token, new { lastName = "Only an activity refers to it" });
        var deal = await Bundles.CreateDealAsync(_host, token, new { name = "Only an activity refers to it", customerId = buyer, amount = 1, currency = "EUR" });
        var onCustomer = await Bundles.CreateActivityAsync(_host, token, new { type = "note", subject = "About the customer", customerId = customer });
        var onContact = await Bundles.CreateActivityAsync(_host, token, new { type = "call", subject = "About the contact", contactId = contact });
        var onDeal = await Bundles.CreateActivityAsync(_host, token, new { type = "task", subject = "About the deal", dealId = deal });
        await RunAsync("full");
        var added = await Bundles.CreateActivityAsync(_host, token, new { type = "note", subject = "In the increment", customerId = buyer });
        var incremental = await RunAsync("incremental");
        await Bundles.PurgeAsync(_host, tenant.Id);
        var unknown = Guid.NewGuid().ToString();
        await RewriteTenantFileAsync(incremental["id"]!.GetValue<string>(), tenant.Id, bundle => Bundles.EditAndSign(bundle, json =>
        {
            var activity = json["activities"]![0]!;
            switch (defect)
            {
                case "removed deal":
                    json["deletedDeals"]!.AsArray().Add(deal);
                    json["counts"]!["deletedDeals"] = 1;
                    break;
                case "removed contact":
                    json["deletedContacts"]!.AsArray().Add(contact);
                    json["counts"]!["deletedContacts"] = 1;
                    break;
                case "removed customer":
                    json["deletedCustomers"]!.AsArray().Add(customer);
                    json["counts"]!["deletedCustomers"] = 1;
                    break;
                case "unknown deal":
                    activity["dealId"] = unknown;
                    break;
                case "unknown contact":
                    activity["contactId"] = unknown;
                    break;
                case "unknown assignee":
                    activity["assigneeUserId"] = unknown;
                    break;
            }
        }));

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(defect switch
        {
            "removed deal" => $"deletedDeals: deal {deal} is removed, but activity {onDeal} still refers to it",
            "removed contact" => $"deletedContacts: contact {contact} is removed, but activity {onContact} still refers to it",
            "removed customer" => $"deletedCustomers: customer {customer} is removed, but activity {onCustomer} still refers to it",
            "unknown deal" => $"activities[0] ({added}): dealId {unknown} is not a deal in the bundle or the bundles before it",
            "unknown contact" => $"activities[0] ({added}): contactId {unknown} is not a contact in the bundle or the bundles before it",
            _ => $"activities[0] ({added}): assigneeUserId {unknown} is not a user in the bundle",
        });
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task TheRestoreDrillRecoversTheCustomFieldsAsChangedBetweenBackups()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "customers",
            Bundles.Field("industry", "Industry", "select", false, "Energy", "Retail"), Bundles.Field("tier", "Tier", "text"));
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "deals", Bundles.Field("priority", "Priority", "select", false, "low", "high"));
        var changed = await Bundles.CreateCustomerAsync(_host, token, new { name = "Changes", customFields = new { industry = "Energy", tier = "gold" } });
        var cleared = await Bundles.CreateCustomerAsync(_host, token, new { name = "Loses its Retail", customFields = new { industry = "Retail" } });
        var untouched = await Bundles.CreateCustomerAsync(_host, token, new { name = "Untouched", customFields = new { tier = "silver" } });
        await Bundles.CreateDealAsync(_host, token, new { name = "High", customerId = changed, amount = 1, currency = "EUR", customFields = new { priority = "high" } });
        var full = await RunAsync("full");

        // The Retail option goes once no customer holds it; a required number arrives (the customers without it keep none).
        await PutCustomerAsync(token, cleared, new { name = "Loses its Retail", customFields = new { } });
        var customerFields = new[]
        {
            Bundles.Field("industry", "Sector", "select", false, "Energy"), Bundles.Field("score", "Score", "number", true), Bundles.Field("tier", "Tier", "text"),
        };
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "customers", customerFields);
        var dealFields = new[] { Bundles.Field("priority", "Priority", "select", false, "low", "high", "urgent") };
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "deals", dealFields);
        await PutCustomerAsync(token, changed, new { name = "Changes", customFields = new { industry = "Energy", tier = "platinum", score = 7.25m } });
        var incremental = await RunAsync("incremental");
        var expected = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "contacts", Bundles.Field("after", "After the last backup", "text"));
        await Bundles.PurgeAsync(_host, tenant.Id);

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());
        var actual = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));

        incremental["previous"]!.GetValue<string>().Should().Be(full["id"]!.GetValue<string>());
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        JsonNode.DeepEquals(Bundles.Data(actual, dropLastAuditEntries: 1), Bundles.Data(expected)).Should().BeTrue();
        var increment = Bundles.Parse(await File.ReadAllBytesAsync(
            Path.Combine(fixture.BackupDirectory, incremental["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json")));
        increment.Select(p => p.Key).Should().ContainInConsecutiveOrder("users", "customFields", "customers", "deletedCustomers");
        var carried = new JsonObject
        {
            ["customers"] = new JsonArray(customerFields.Select(f => f.DeepClone()).ToArray()),
            ["contacts"] = new JsonArray(),
            ["deals"] = new JsonArray(dealFields.Select(f => f.DeepClone()).ToArray()),
        };
        increment["customFields"]!.ToJsonString().Should().Be(carried.ToJsonString(), "an increment carries every definition list whole");
        var rows = increment["customers"]!.AsArray().ToDictionary(c => c!["id"]!.GetValue<string>(), c => c!["customFields"]!.ToJsonString());
        rows.Keys.Should().BeEquivalentTo(changed, cleared);
        rows[changed].Should().Be("""{"industry":"Energy","score":7.25,"tier":"platinum"}""");
        rows[cleared].Should().Be("{}");
        var restored = actual["customers"]!.AsArray().ToDictionary(c => c!["id"]!.GetValue<string>(), c => c!["customFields"]!.ToJsonString());
        restored[untouched].Should().Be("""{"tier":"silver"}""");
        actual["deals"]!.AsArray().Single()!["customFields"]!.ToJsonString().Should().Be("""{"priority":"high"}""");
        var admin = await _host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await Bundles.CustomFieldsAsync(_host, admin.AccessToken, "customers")).Select(f => Bundles.AsField(f!).ToJsonString())
            .Should().Equal(customerFields.Select(f => f.ToJsonString()));
        (await Bundles.CustomFieldsAsync(_host, admin.AccessToken, "contacts")).Should().BeEmpty("the definitions' live grain does not outlive the restore");
    }

    [Theory]
    [InlineData("removed")]
    [InlineData("retyped")]
    [InlineData("option removed")]
    public async Task AnIncrementWhoseDefinitionsNoLongerAllowAValueOfAnEarlierBundleIsRefusedByName(string defect)
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "contacts", Bundles.Field("tier", "Tier", "select", false, "gold", "silver"));
        var held = await Bundles.CreateContactAsync(_host, token, new { lastName = "Holds gold", customFields = new { tier = "gold" } });
        await RunAsync("full");
        await Bundles.CreateContactAsync(_host, token, new { lastName = "In the increment" });
        var incremental = await RunAsync("incremental");
        await Bundles.PurgeAsync(_host, tenant.Id);
        await RewriteTenantFileAsync(incremental["id"]!.GetValue<string>(), tenant.Id, bundle => Bundles.EditAndSign(bundle, json =>
            json["customFields"]!["contacts"] = defect switch
            {
                "removed" => new JsonArray(),
                "retyped" => new JsonArray(Bundles.Field("tier", "Tier", "number")),
                _ => new JsonArray(Bundles.Field("tier", "Tier", "select", false, "silver")),
            }));

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest, await restore.Content.ReadAsStringAsync());
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(
            $"customFields.contacts: contact {held} still holds a value these definitions do not allow (customFields.tier: " + defect switch
            {
                "removed" => "\"tier\" is not a custom field here; the custom fields are: none.",
                "retyped" => "Tier is a number",
                _ => "Tier is one of: silver.",
            });
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task AnIncrementFollowingABundleOfAnotherVersionIsRefused()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var full = await RunAsync("full");
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "In the increment" });
        var incremental = await RunAsync("incremental");
        var increment = JsonNode.Parse(await File.ReadAllBytesAsync(
            Path.Combine(fixture.BackupDirectory, incremental["id"]!.GetValue<string>(), $"tenants/{tenant.Id}.json")))!;
        increment["format"]!.GetValue<string>().Should().Be("shohayota.tenant-increment", "the tenant's file continues from the full backup");
        await Bundles.PurgeAsync(_host, tenant.Id);
        await RewriteTenantFileAsync(full["id"]!.GetValue<string>(), tenant.Id, Bundles.AsVersionTwo);

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest, await restore.Content.ReadAsStringAsync());
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("an increment of version 4 cannot follow a bundle of version 2");
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task AChainOfVersionOneBundlesStillRestores()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var gone = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Gone" });
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Stays" });
        var full = await RunAsync("full");
        (await _host.SendAsync(HttpMethod.Delete, $"/api/customers/{gone}", tenant.Admin.AccessToken)).EnsureSuccessStatusCode();
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Added" });
        var incremental = await RunAsync("incremental");
        var expected = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));
        await Bundles.PurgeAsync(_host, tenant.Id);
        foreach (var backup in new[] { full, incremental })
        {
            await RewriteTenantFileAsync(backup["id"]!.GetValue<string>(), tenant.Id, Bundles.AsVersionOne);
        }

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());
        var actual = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));

        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        JsonNode.DeepEquals(Bundles.Data(actual, dropLastAuditEntries: 1), Bundles.Data(expected)).Should().BeTrue();
        actual["customers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).Should().BeEquivalentTo("Stays", "Added");
    }

    [Theory]
    [InlineData("unknown customer")]
    [InlineData("removed customer still referred to")]
    public async Task AnIncrementWhoseContactsWouldReferToACustomerTheChainDoesNotHoldIsRefusedByName(string defect)
    {
        var tenant = await _host.ProvisionTenantAsync();
        var customer = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "In the full backup" });
        var linked = await Bundles.CreateContactAsync(_host, tenant.Admin.AccessToken, new { lastName = "Linked", customerId = customer });
        await RunAsync("full");
        var added = await Bundles.CreateContactAsync(_host, tenant.Admin.AccessToken, new { lastName = "In the increment" });
        var incremental = await RunAsync("incremental");
        await Bundles.PurgeAsync(_host, tenant.Id);
        var unknown = Guid.NewGuid().ToString();
        await RewriteTenantFileAsync(incremental["id"]!.GetValue<string>(), tenant.Id, bundle => Bundles.EditAndSign(bundle, json =>
        {
            if (defect == "unknown customer")
            {
                json["contacts"]![0]!["customerId"] = unknown;
            }
            else
            {
                json["deletedCustomers"]!.AsArray().Add(customer);
                json["counts"]!["deletedCustomers"] = 1;
            }
        }));

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(defect == "unknown customer"
            ? $"contacts[0] ({added}): customerId {unknown} is not a customer in the bundle or the bundles before it"
            : $"deletedCustomers: customer {customer} is removed, but contact {linked} still refers to it");
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task AnIncrementalBackupAfterABackupOfAnOlderVersionIsAFullOneWithEveryContactAndDeal(int version)
    {
        var tenant = await _host.ProvisionTenantAsync();
        var contact = await Bundles.CreateContactAsync(_host, tenant.Admin.AccessToken, new { lastName = "Existed before the upgrade" });
        var customer = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Existed before the upgrade" });
        var deal = await Bundles.CreateDealAsync(_host, tenant.Admin.AccessToken, new { name = "Existed before the upgrade", customerId = customer, amount = 1, currency = "EUR" });
        var activity = await Bundles.CreateActivityAsync(_host, tenant.Admin.AccessToken, new { type = "note", subject = "Existed before the upgrade", dealId = deal });
        var old = await RunAsync("full");
        var manifestPath = Path.Combine(fixture.BackupDirectory, old["id"]!.GetValue<string>(), "manifest.json");
        var manifest = JsonNode.Parse(await File.ReadAllBytesAsync(manifestPath))!;
        manifest["version"] = version;
        await File.WriteAllTextAsync(manifestPath, manifest.ToJsonString());

        var next = await RunAsync("incremental");
        using var details = await _host.SendAsync(HttpMethod.Get, $"/api/admin/backups/{next["id"]}", await _host.SharedSuperAdminTokenAsync());

        next["kind"]!.GetValue<string>().Should().Be("full", $"a version-{version} backup never held the records of later versions that existed when it was made");
        next["previous"].Should().BeNull();
        var file = (await details.JsonAsync())["files"]!.AsArray().Single(f => f!["tenantId"]?.GetValue<string>() == tenant.Id.ToString())!;
        file["kind"]!.GetValue<string>().Should().Be("full");
        file["contacts"]!.GetValue<long>().Should().Be(1);
        var bundle = Bundles.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.BackupDirectory, next["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json")));
        bundle["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().Equal(contact);
        bundle["deals"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).Should().Equal(deal);
        bundle["pipeline"]!.AsArray().Should().HaveCount(6);
        bundle["activities"]!.AsArray().Select(a => a!["id"]!.GetValue<string>()).Should().Equal(activity);
        file["activities"]!.GetValue<long>().Should().Be(1);
    }

    [Fact]
    public async Task AFullBackupListsEveryFileWithItsSha256AndAWholeDatabaseDump()
    {
        var tenant = await _host.ProvisionTenantAsync();

        var full = await RunAsync("full");
        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync());
        using var details = await _host.SendAsync(HttpMethod.Get, $"/api/admin/backups/{full["id"]}", await _host.SharedSuperAdminTokenAsync());

        full["kind"]!.GetValue<string>().Should().Be("full");
        full["databaseDump"]!.GetValue<string>().Should().Be("database.dump");
        (await list.JsonAsync())["items"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).Should().Contain(full["id"]!.GetValue<string>());
        var files = (await details.JsonAsync())["files"]!.AsArray();
        files.Should().Contain(f => f!["tenantId"] != null && f["tenantId"]!.GetValue<string>() == tenant.Id.ToString());
        foreach (var file in files)
        {
            var path = Path.Combine(fixture.BackupDirectory, full["id"]!.GetValue<string>(), file!["name"]!.GetValue<string>());
            await using var stream = File.OpenRead(path);
            Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)).Should().Be(file["sha256"]!.GetValue<string>(), file["name"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task AnIncrementalBackupHoldsOnlyWhatChangedSinceThePreviousOne()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var gone = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Gone" });
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Stays" });
        var goneContact = await Bundles.CreateContactAsync(_host, tenant.Admin.AccessToken, new { lastName = "Gone" });
        await Bundles.CreateContactAsync(_host, tenant.Admin.AccessToken, new { lastName = "Stays" });
        var dealer = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Has deals" });
        var goneDeal = await Bundles.CreateDealAsync(_host, tenant.Admin.AccessToken, new { name = "Gone", customerId = dealer, amount = 1, currency = "EUR" });
        await Bundles.CreateDealAsync(_host, tenant.Admin.AccessToken, new { name = "Stays", customerId = dealer, amount = 1, currency = "EUR" });
        await RunAsync("full");
        var newDeal = await Bundles.CreateDealAsync(_host, tenant.Admin.AccessToken, new { name = "New", customerId = dealer, amount = 1, currency = "EUR" });
        (await _host.SendAsync(HttpMethod.Delete, $"/api/deals/{goneDeal}", tenant.Admin.AccessToken)).EnsureSuccessStatusCode();
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "New" });
        await Bundles.CreateContactAsync(_host, tenant.Admin.AccessToken, new { lastName = "New" });
        (await _host.SendAsync(HttpMethod.Delete, $"/api/customers/{gone}", tenant.Admin.AccessToken)).EnsureSuccessStatusCode();
        (await _host.SendAsync(HttpMethod.Delete, $"/api/contacts/{goneContact}", tenant.Admin.AccessToken)).EnsureSuccessStatusCode();

        var incremental = await RunAsync("incremental");
        using var details = await _host.SendAsync(HttpMethod.Get, $"/api/admin/backups/{incremental["id"]}", await _host.SharedSuperAdminTokenAsync());

        var file = (await details.JsonAsync())["files"]!.AsArray().Single(f => f!["tenantId"]?.GetValue<string>() == tenant.Id.ToString())!;
        file["kind"]!.GetValue<string>().Should().Be("incremental");
        file["customers"]!.GetValue<long>().Should().Be(1);
        file["deletedCustomers"]!.GetValue<long>().Should().Be(1);
        file["contacts"]!.GetValue<long>().Should().Be(1);
        file["deletedContacts"]!.GetValue<long>().Should().Be(1);
        incremental["databaseDump"].Should().BeNull();
        var increment = Bundles.Parse(await File.ReadAllBytesAsync(
            Path.Combine(fixture.BackupDirectory, incremental["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json")));
        increment["deals"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).Should().Equal(newDeal);
        increment["deletedDeals"]!.AsArray().Select(id => id!.GetValue<string>()).Should().Equal(goneDeal);
        increment["pipeline"]!.AsArray().Should().HaveCount(6, "an increment carries the whole pipeline");
    }

    [Fact]
    public async Task ScheduledTicksRunEachDueSlotExactlyOnce()
    {
        _host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        var backups = _host.Services.GetRequiredService<IGrainFactory>().GetGrain<IBackupGrain>("backups");
        await backups.TickAsync();

        var repeated = await backups.TickAsync();
        var now = _clock.GetUtcNow();
        var next = Enumerable.Range(1, 24).Select(h => new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(h))
            .First(t => t.Hour == 2 || t.Hour % 6 == 0);
        _clock.Advance(next - now + TimeSpan.FromSeconds(30));
        var due = await backups.TickAsync();
        var again = await backups.TickAsync();
        RequestContext.Clear();

        repeated.Should().BeNull();
        due.Should().NotBeNull();
        due!.Kind.Should().Be(next.Hour == 2 ? "full" : "incremental");
        due.Trigger.Should().Be("schedule");
        again.Should().BeNull();
    }

    [Fact]
    public async Task RestoringFromABackupNeedsTheTenantInItAndAnUnbrokenChain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var full = await RunAsync("full");
        var incremental = await RunAsync("incremental");
        var token = await _host.SharedSuperAdminTokenAsync();

        using var unknownTenant = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={Guid.NewGuid()}", token);
        using var unknownBackup = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/20200101T000000000Z-full/restore?tenantId={tenant.Id}", token);
        using var noTenant = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore", token);
        using var exists = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", token);
        Directory.Delete(Path.Combine(fixture.BackupDirectory, full["id"]!.GetValue<string>()), recursive: true);
        using var broken = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}&mode=replace", token);

        unknownTenant.StatusCode.Should().Be(HttpStatusCode.NotFound);
        unknownBackup.StatusCode.Should().Be(HttpStatusCode.NotFound);
        noTenant.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        exists.StatusCode.Should().Be(HttpStatusCode.Conflict);
        broken.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await broken.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(full["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task ADamagedBackupFileIsRefusedBeforeAnythingIsWritten()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var full = await RunAsync("full");
        await Bundles.PurgeAsync(_host, tenant.Id);
        var path = Path.Combine(fixture.BackupDirectory, full["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json");
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);

        using var restore = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{full["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("SHA-256");
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task AnIncrementEditedWithItsChecksumAndManifestRecomputedIsRefusedAsNotMatchingItsSignature()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await RunAsync("full");
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "In the increment" });
        var incremental = await RunAsync("incremental");
        await Bundles.PurgeAsync(_host, tenant.Id);
        await RewriteTenantFileAsync(incremental["id"]!.GetValue<string>(), tenant.Id,
            bundle => Bundles.Edit(bundle, json => json["customers"]![0]!["name"] = "Edited in the backup"));

        using var restore = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("signature does not match");
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task AFolderWithoutAManifestIsNotListed()
    {
        Directory.CreateDirectory(Path.Combine(fixture.BackupDirectory, "20200101T000000000Z-full", "tenants"));

        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync());

        (await list.JsonAsync())["items"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).Should().NotContain("20200101T000000000Z-full");
    }

    [Fact]
    public async Task BackupsPastTheirRetentionAreDeletedUnlessAKeptOneContinuesThem()
    {
        var oldFull = await RunAsync("full");
        _clock.Advance(TimeSpan.FromHours(15));
        var incremental = await RunAsync("incremental");
        _clock.Advance(TimeSpan.FromHours(15));
        var newFull = await RunAsync("full");
        var afterOneDay = await ListIdsAsync();
        _clock.Advance(TimeSpan.FromHours(15));
        await RunAsync("full");
        var afterTwoDays = await ListIdsAsync();

        afterOneDay.Should().Contain([oldFull["id"]!.GetValue<string>(), incremental["id"]!.GetValue<string>()], "the incremental continues the old full");
        afterTwoDays.Should().NotContain([oldFull["id"]!.GetValue<string>(), incremental["id"]!.GetValue<string>()]);
        afterTwoDays.Should().Contain(newFull["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUploadLargerThanTheRestoreLimitIsRefused()
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/admin/tenants/restore", await _host.SharedSuperAdminTokenAsync());
        request.Content = new ByteArrayContent(new byte[BackupHost.MaxRestoreBytes + 1]);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await _host.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        // The rest of the upload is never read: the answer closes the connection, so the client's next request takes a
        // new one (a CI run had the class's next test fail with "response ended prematurely" on this one).
        response.Headers.ConnectionClose.Should().BeTrue();
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("payload-too-large"));
        problem["detail"]!.GetValue<string>().Should().Contain("0.25 MiB");
    }

    [Fact]
    public async Task OnlySuperAdminsRunBackupsAndTheKindMustBeKnown()
    {
        var tenant = await _host.ProvisionTenantAsync();

        using var byAdmin = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", tenant.Admin.AccessToken, new { kind = "full" });
        using var unknown = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync(), new { kind = "partial" });

        byAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        unknown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task EveryBackupFullOrIncrementalAnchorsTheHeadOfTheTenantsChain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await RunAsync("full");
        var afterFull = await VerifyAsync(tenant);
        using (var written = await _host.SendAsync(HttpMethod.Post, "/api/test/audit", tenant.Admin.AccessToken))
        {
            written.EnsureSuccessStatusCode();
        }

        await RunAsync("incremental");
        var afterIncremental = await VerifyAsync(tenant);

        afterFull["anchors"]!["checked"]!.GetValue<long>().Should().Be(1);
        afterIncremental["anchors"]!["checked"]!.GetValue<long>().Should().Be(2);
        afterIncremental["anchors"]!["matched"]!.GetValue<long>().Should().Be(2);
        afterIncremental["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    /// <summary>Replaces a tenant's file in a backup and its SHA-256 in the manifest (what an older server's backup would hold).</summary>
    private async Task RewriteTenantFileAsync(string backupId, Guid tenantId, Func<byte[], byte[]> rewrite)
    {
        var folder = Path.Combine(fixture.BackupDirectory, backupId);
        var name = $"tenants/{tenantId}.json";
        var rewritten = rewrite(await File.ReadAllBytesAsync(Path.Combine(folder, name)));
        await File.WriteAllBytesAsync(Path.Combine(folder, name), rewritten);
        var manifest = JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(folder, "manifest.json")))!;
        manifest["files"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == name)!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(rewritten));
        await File.WriteAllTextAsync(Path.Combine(folder, "manifest.json"), manifest.ToJsonString());
    }

    private async Task PutActivityAsync(string token, string activity, object body)
    {
        using var response = await _host.SendAsync(HttpMethod.Put, $"/api/activities/{activity}", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task PutCustomerAsync(string token, string customer, object body)
    {
        using var response = await _host.SendAsync(HttpMethod.Put, $"/api/customers/{customer}", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task PutDealAsync(string token, string deal, object body)
    {
        using var response = await _host.SendAsync(HttpMethod.Put, $"/api/deals/{deal}", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonObject> VerifyAsync(TestTenant tenant)
    {
        using var response = await _host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", tenant.Admin.AccessToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    private async Task<JsonObject> RunAsync(string kind)
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync(), new { kind });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    private async Task<List<string>> ListIdsAsync()
    {
        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync());
        return (await list.JsonAsync())["items"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).ToList();
    }
}
