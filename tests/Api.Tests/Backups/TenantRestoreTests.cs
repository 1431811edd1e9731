using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Backups;

public sealed class TenantRestoreTests
{
    [Fact]
    public async Task ExportHardDeleteRestoreExportGivesIdenticalDataAndAChainThatStillVerifies()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var owner = member.Body["user"]!["id"]!.GetValue<string>();
        var customer = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken,
            new { name = "Ünïcode \"name\"", tags = new[] { "x", "y\"z" }, notes = "multi\nline", ownerUserId = owner });
        await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Plain" });
        var linked = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new
        {
            firstName = "Zoë \"Z\"", lastName = "O'Brien", email = "zoe@example.test", phone = "+1 555 0100", title = "Head of 😀",
            customerId = customer, ownerUserId = owner, tags = new[] { "vip", "a,b\"c" }, notes = "first line\nsecond line",
        });
        var alone = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Alone" });
        using (var update = await host.SendAsync(HttpMethod.Put, $"/api/contacts/{alone}", tenant.Admin.AccessToken, new { lastName = "Alone", title = "Updated" }))
        {
            update.EnsureSuccessStatusCode();
        }
        using (var quota = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{tenant.Id}/quotas", await host.SharedSuperAdminTokenAsync(),
            new { customers = 77, reason = "restore test" }))
        {
            quota.EnsureSuccessStatusCode();
        }

        var exported = await Bundles.ExportAsync(host, tenant.Id);
        var before = Bundles.Parse(exported);
        var later = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Created after the export" });
        var laterContact = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Created after the export", customerId = later });
        await Bundles.PurgeAsync(host, tenant.Id);
        using (var denied = await host.SendAsync(HttpMethod.Get, $"/api/customers/{later}", tenant.Admin.AccessToken))
        {
            denied.StatusCode.Should().Be(HttpStatusCode.Forbidden, "the purged tenant's still-valid token writes a denial into the purged log");
        }

        using var restore = await Bundles.RestoreAsync(host, exported);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        restore.StatusCode.Should().Be(HttpStatusCode.Created);
        var body = await restore.JsonAsync();
        body["tenant"]!["id"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        body["counts"]!["customers"]!.GetValue<long>().Should().Be(2);
        body["counts"]!["contacts"]!.GetValue<long>().Should().Be(2);
        body["counts"]!["users"]!.GetValue<long>().Should().Be(2);
        body["counts"]!["overrides"]!.GetValue<long>().Should().Be(1);
        JsonNode.DeepEquals(Bundles.Data(after, dropLastAuditEntries: 1), Bundles.Data(before)).Should().BeTrue();
        after["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(linked, alone);
        after["counts"]!["contacts"]!.GetValue<long>().Should().Be(2);
        var restored = after["auditLogs"]!.AsArray()[^1]!;
        restored["action"]!.GetValue<string>().Should().Be("tenant.restored");
        restored["seq"]!.GetValue<long>().Should().Be(before["auditLogs"]!.AsArray().Count + 1);
        using var verify = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs/verify?tenantId={tenant.Id}", await host.SharedSuperAdminTokenAsync());
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var customers = await host.SendAsync(HttpMethod.Get, "/api/customers", admin.AccessToken);
        (await customers.JsonAsync())["items"]!.AsArray().Should().HaveCount(2);
        using var stale = await host.SendAsync(HttpMethod.Get, $"/api/customers/{later}", admin.AccessToken);
        stale.StatusCode.Should().Be(HttpStatusCode.NotFound, "no live grain may serve a row the restore did not bring back");
        using var staleContact = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{laterContact}", admin.AccessToken);
        staleContact.StatusCode.Should().Be(HttpStatusCode.NotFound, "no live contact grain may serve a row the restore did not bring back");
        var exportedContact = before["contacts"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == linked)!;
        using var restoredContact = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{linked}", admin.AccessToken);
        var served = await restoredContact.JsonAsync();
        foreach (var field in new[] { "firstName", "lastName", "email", "phone", "title", "customerId", "ownerUserId", "tags", "notes", "version" })
        {
            JsonNode.DeepEquals(served[field], exportedContact[field]).Should().BeTrue(field);
        }

        served["customerId"]!.GetValue<string>().Should().Be(customer);
        using var write = await host.SendAsync(HttpMethod.Post, "/api/customers", admin.AccessToken, new { name = "After the restore" });
        write.StatusCode.Should().Be(HttpStatusCode.Created);
        using var verifyAfterWrite = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", admin.AccessToken);
        (await verifyAfterWrite.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task APrunedChainIsRestoredFromItsCheckpointWithTheOwnersPermissionAndStillVerifies()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "One" });
        await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Two" });
        await using (var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString))
        {
            await connection.OpenAsync();
            await using var prune = new NpgsqlCommand(
                """
                WITH cut AS (SELECT tenant_id, seq, hash FROM audit_logs WHERE tenant_id = $1 AND seq = 2),
                     checkpoint AS (INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) SELECT tenant_id, seq, hash, now() FROM cut)
                DELETE FROM audit_logs WHERE tenant_id = $1 AND seq <= 2
                """,
                connection);
            prune.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            (await prune.ExecuteNonQueryAsync()).Should().Be(2);
        }

        var exported = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);

        using var restore = await Bundles.RestoreAsync(host, exported);
        using var verify = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs/verify?tenantId={tenant.Id}", await host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        Bundles.Parse(exported)["auditCheckpoint"]!["seq"]!.GetValue<long>().Should().Be(2);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task EverySingleByteCorruptionOfAnExportIsRejectedAndWritesNothing()
    {
        var host = await ApiHost.SharedAsync();
        var id = await host.ProvisionIdAsync(TenantBody.New());
        var bundle = await Bundles.ExportAsync(host, id);
        var auditBefore = await AuditCountAsync(host, id);

        var accepted = new System.Collections.Concurrent.ConcurrentBag<string>();
        var positions = Enumerable.Range(0, bundle.Length).SelectMany(i => new[] { (i, (byte)0x01), (i, (byte)0x20) });
        await Parallel.ForEachAsync(positions, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (flip, _) =>
        {
            var corrupt = (byte[])bundle.Clone();
            corrupt[flip.Item1] ^= flip.Item2;
            using var response = await Bundles.RestoreAsync(host, corrupt);
            if (response.StatusCode != HttpStatusCode.BadRequest)
            {
                accepted.Add($"byte {flip.Item1} ^ 0x{flip.Item2:x2}: {(int)response.StatusCode}");
            }
        });
        using var intact = await Bundles.RestoreAsync(host, bundle);

        accepted.Should().BeEmpty();
        intact.StatusCode.Should().Be(HttpStatusCode.Conflict, "the intact bundle is valid; its tenant still exists");
        (await AuditCountAsync(host, id)).Should().Be(auditBefore);
    }

    [Theory]
    [InlineData("format", "is not a Shohayota tenant export")]
    [InlineData("version", "is not supported")]
    [InlineData("owner", "is not a user in the bundle")]
    [InlineData("email", "appears twice")]
    [InlineData("super_admin", "is not a tenant role")]
    [InlineData("chain", "does not match its hash")]
    [InlineData("gap", "does not follow entry")]
    [InlineData("counts", "counts: the bundle states")]
    [InlineData("contact counts", "counts: the bundle states")]
    [InlineData("contact twice", "contacts[1]")]
    [InlineData("contact owner", "is not a user in the bundle")]
    [InlineData("truncated", "truncated")]
    public async Task AnInvalidBundleIsRefusedNamingTheProblemAndNothingIsWritten(string defect, string named)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var customer = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Owned", ownerUserId = member.Body["user"]!["id"]!.GetValue<string>() });
        await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Contact", customerId = customer });
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var damaged = defect == "truncated" ? bundle[..^40] : Bundles.EditAndSign(bundle, json =>
        {
            switch (defect)
            {
                case "format":
                    json["format"] = "something-else";
                    break;
                case "version":
                    json["version"] = 5;
                    break;
                case "owner":
                    json["customers"]![0]!["ownerUserId"] = Guid.NewGuid().ToString();
                    break;
                case "email":
                    json["users"]![1]!["email"] = json["users"]![0]!["email"]!.GetValue<string>().ToUpperInvariant();
                    break;
                case "super_admin":
                    json["users"]![0]!["role"] = "super_admin";
                    break;
                case "chain":
                    json["auditLogs"]![1]!["action"] = "rewritten";
                    break;
                case "gap":
                    json["auditLogs"]!.AsArray().RemoveAt(1);
                    json["counts"]!["auditLogs"] = json["auditLogs"]!.AsArray().Count;
                    break;
                case "counts":
                    json["counts"]!["customers"] = 5;
                    break;
                case "contact counts":
                    json["counts"]!["contacts"] = 0;
                    break;
                case "contact twice":
                    json["contacts"]!.AsArray().Add(json["contacts"]![0]!.DeepClone());
                    json["counts"]!["contacts"] = 2;
                    break;
                case "contact owner":
                    json["contacts"]![0]!["ownerUserId"] = Guid.NewGuid().ToString();
                    break;
            }
        });

        using var response = await Bundles.RestoreAsync(host, damaged);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-bundle"));
        problem["detail"]!.GetValue<string>().Should().Contain(named);
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
        (await AuditCountAsync(host, tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task AContactWhoseCustomerIsNotInTheBundleIsRefusedNamingTheContactAndNothingIsWritten()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Unlinked" });
        var customer = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Left out of the bundle" });
        var contact = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Linked", customerId = customer });
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var withoutCustomer = Bundles.EditAndSign(bundle, json =>
        {
            json["customers"] = new JsonArray();
            json["counts"]!["customers"] = 0;
        });
        var index = Bundles.Parse(bundle)["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ToList().IndexOf(contact);

        using var response = await Bundles.RestoreAsync(host, withoutCustomer);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-bundle"));
        problem["detail"]!.GetValue<string>().Should().Contain($"contacts[{index}] ({contact}): customerId {customer} is not a customer in the bundle");
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
        (await AuditCountAsync(host, tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task AVersionOneBundleWithoutContactsStillRestores()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "From before contacts" });
        var current = await Bundles.ExportAsync(host, tenant.Id);
        var versionOne = Bundles.AsVersionOne(current);
        await Bundles.PurgeAsync(host, tenant.Id);

        using var restore = await Bundles.RestoreAsync(host, versionOne);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        Bundles.Parse(versionOne).ContainsKey("contacts").Should().BeFalse();
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        (await restore.JsonAsync())["counts"]!["contacts"]!.GetValue<long>().Should().Be(0);
        after["version"]!.GetValue<int>().Should().Be(4);
        after["contacts"]!.AsArray().Should().BeEmpty();
        JsonNode.DeepEquals(Bundles.Data(after, dropLastAuditEntries: 1), Bundles.Data(Bundles.Parse(current))).Should().BeTrue();
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        var customer = after["customers"]![0]!["id"]!.GetValue<string>();
        (await Bundles.CreateContactAsync(host, admin.AccessToken, new { lastName = "After the restore", customerId = customer })).Should().NotBeEmpty();
    }

    [Fact]
    public async Task DealsAndACustomPipelineComeBackFieldForFieldAfterAHardDeleteRemovedThem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var owner = (await host.AddUserAsync(tenant)).Body["user"]!["id"]!.GetValue<string>();
        var sales = await Bundles.SeedSalesAsync(host, tenant, owner);
        var exported = await Bundles.ExportAsync(host, tenant.Id);
        var before = Bundles.Parse(exported);
        await Bundles.PurgeAsync(host, tenant.Id);
        var leftAfterPurge = new List<long>();
        foreach (var table in new[] { "deals", "deal_contacts", "pipeline_stages" })
        {
            leftAfterPurge.Add(await Bundles.CountAsync(host, table, tenant.Id));
        }

        using var restore = await Bundles.RestoreAsync(host, exported);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        leftAfterPurge.Should().Equal(0, 0, 0);
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        (await Bundles.CountAsync(host, "deals", tenant.Id)).Should().Be(3);
        JsonNode.DeepEquals(Bundles.Data(after, dropLastAuditEntries: 1), Bundles.Data(before)).Should().BeTrue();
        (await Bundles.CountAsync(host, "deal_contacts", tenant.Id)).Should().Be(3);
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        var stages = await Bundles.StagesAsync(host, admin.AccessToken);
        stages.Select(s => s["name"]!.GetValue<string>()).Should().Equal(sales.StageNames);
        stages.Select(s => s["count"]!.GetValue<int>()).Should().Equal(0, 0, 1, 0, 1, 1);
        var exportedDeal = before["deals"]!.AsArray().Single(d => d!["id"]!.GetValue<string>() == sales.Open)!;
        using (var read = await host.SendAsync(HttpMethod.Get, $"/api/deals/{sales.Open}", admin.AccessToken))
        {
            var served = await read.JsonAsync();
            foreach (var field in new[] { "name", "customerId", "currency", "stageId", "status", "expectedCloseDate", "ownerUserId", "closedAt", "version" })
            {
                JsonNode.DeepEquals(served[field], exportedDeal[field]).Should().BeTrue(field);
            }

            served["amount"]!.GetValue<decimal>().Should().Be(1234.5678m);
            served["contactIds"]!.AsArray().Select(c => c!.GetValue<string>()).Should().BeEquivalentTo(sales.Contacts);
        }

        using var won = await host.SendAsync(HttpMethod.Get, $"/api/deals/{sales.Won}", admin.AccessToken);
        (await won.JsonAsync())["closedAt"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        await Bundles.MoveDealAsync(host, admin.AccessToken, sales.Won, stages[0]["id"]!.GetValue<string>());
        using var verify = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", admin.AccessToken);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task ActivitiesComeBackFieldForFieldAfterAHardDeleteRemovedThem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var assignee = (await host.AddUserAsync(tenant)).Body["user"]!["id"]!.GetValue<string>();
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        var agenda = await Bundles.SeedActivitiesAsync(host, tenant, sales, assignee);
        var exported = await Bundles.ExportAsync(host, tenant.Id);
        var before = Bundles.Parse(exported);
        await Bundles.PurgeAsync(host, tenant.Id);
        var leftAfterPurge = await Bundles.CountAsync(host, "activities", tenant.Id);

        using var restore = await Bundles.RestoreAsync(host, exported);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        leftAfterPurge.Should().Be(0);
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        (await restore.JsonAsync())["counts"]!["activities"]!.GetValue<long>().Should().Be(3);
        JsonNode.DeepEquals(Bundles.Data(after, dropLastAuditEntries: 1), Bundles.Data(before)).Should().BeTrue();
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        var fields = new[]
        {
            "type", "subject", "body", "dueAt", "assigneeUserId", "customerId", "contactId", "dealId", "completedAt", "createdAt", "updatedAt", "version",
        };
        foreach (var id in new[] { agenda.Note, agenda.Task, agenda.Meeting })
        {
            var exportedActivity = before["activities"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == id)!;
            using var read = await host.SendAsync(HttpMethod.Get, $"/api/activities/{id}", admin.AccessToken);
            read.StatusCode.Should().Be(HttpStatusCode.OK);
            var served = await read.JsonAsync();
            foreach (var field in fields)
            {
                Same(served[field], exportedActivity[field]).Should().BeTrue($"{id} {field}: served {served[field]?.ToJsonString()}, exported {exportedActivity[field]?.ToJsonString()}");
            }
        }

        using (var task = await host.SendAsync(HttpMethod.Get, $"/api/activities/{agenda.Task}", admin.AccessToken))
        {
            var done = await task.JsonAsync();
            done["done"]!.GetValue<bool>().Should().BeTrue("the completed task comes back completed, with its due time");
            done["dueAt"]!.GetValue<DateTimeOffset>().Should().Be(DateTimeOffset.Parse("2027-03-01T07:30:00.123456Z", CultureInfo.InvariantCulture));
        }

        using (var note = await host.SendAsync(HttpMethod.Get, $"/api/activities/{agenda.Note}", admin.AccessToken))
        {
            (await note.JsonAsync())["body"]!.GetValue<string>().Should().Be("First line\nsecond line, Grüße");
        }

        await Bundles.CompleteActivityAsync(host, admin.AccessToken, agenda.Task, done: false);
        using var verify = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", admin.AccessToken);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task AVersionThreeBundleWithoutActivitiesStillRestoresWithItsDeals()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        await Bundles.SeedActivitiesAsync(host, tenant, sales);
        var current = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));
        var versionThree = Bundles.AsVersionThree(await Bundles.ExportAsync(host, tenant.Id));
        await Bundles.PurgeAsync(host, tenant.Id);

        using var restore = await Bundles.RestoreAsync(host, versionThree);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        Bundles.Parse(versionThree).ContainsKey("activities").Should().BeFalse();
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        (await restore.JsonAsync())["counts"]!["activities"]!.GetValue<long>().Should().Be(0);
        after["version"]!.GetValue<int>().Should().Be(4);
        after["activities"]!.AsArray().Should().BeEmpty();
        JsonNode.DeepEquals(after["deals"], current["deals"]).Should().BeTrue();
        JsonNode.DeepEquals(after["pipeline"], current["pipeline"]).Should().BeTrue();
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await Bundles.CreateActivityAsync(host, admin.AccessToken, new { type = "call", subject = "After the restore", dealId = sales.Open }))
            .Should().NotBeEmpty();
    }

    [Fact]
    public async Task ReplacingATenantRemovesTheActivitiesTheBundleDoesNotHoldAndTheirActivations()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        var agenda = await Bundles.SeedActivitiesAsync(host, tenant, sales);
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        var later = await Bundles.CreateActivityAsync(host, token, new { type = "call", subject = "After the export", customerId = sales.Customer });
        await Bundles.CompleteActivityAsync(host, token, agenda.Meeting);
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend")).EnsureSuccessStatusCode();

        using var replaced = await Bundles.RestoreAsync(host, bundle, $"?tenantId={tenant.Id}&mode=replace");

        replaced.StatusCode.Should().Be(HttpStatusCode.Created, await replaced.Content.ReadAsStringAsync());
        (await Bundles.CountAsync(host, "activities", tenant.Id)).Should().Be(3);
        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/activities/{later}", token);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound, "no live activity grain may serve a replaced row");
        using var meeting = await host.SendAsync(HttpMethod.Get, $"/api/activities/{agenda.Meeting}", token);
        (await meeting.JsonAsync())["done"]!.GetValue<bool>().Should().BeFalse("the meeting is open in the bundle");
    }

    /// <summary>One field as the API serves it and as the bundle holds it: a bundle time and the API's are compared as instants (their texts differ).</summary>
    private static bool Same(JsonNode? served, JsonNode? exported) =>
        exported is JsonValue bundled && bundled.TryGetValue<string>(out var text) && BundleTime(text) is { } at
            ? served is JsonValue api && api.TryGetValue<string>(out var servedText) && DateTimeOffset.Parse(servedText, CultureInfo.InvariantCulture) == at
            : JsonNode.DeepEquals(served, exported);

    private static DateTimeOffset? BundleTime(string text) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    [Fact]
    public async Task AVersionTwoBundleWithoutDealsStillRestoresAndThePipelineStartsFromTheDefaults()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        var versionTwo = Bundles.AsVersionTwo(await Bundles.ExportAsync(host, tenant.Id));
        await Bundles.PurgeAsync(host, tenant.Id);

        using var restore = await Bundles.RestoreAsync(host, versionTwo);
        var stageRows = await Bundles.CountAsync(host, "pipeline_stages", tenant.Id);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        Bundles.Parse(versionTwo).ContainsKey("deals").Should().BeFalse();
        Bundles.Parse(versionTwo).ContainsKey("pipeline").Should().BeFalse();
        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        stageRows.Should().Be(0, "a bundle from before the pipeline leaves it to be created on first use");
        after["version"]!.GetValue<int>().Should().Be(4);
        after["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(sales.Contacts);
        after["deals"]!.AsArray().Should().BeEmpty();
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        (await Bundles.StagesAsync(host, admin.AccessToken)).Select(s => s["name"]!.GetValue<string>())
            .Should().Equal("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost");
        (await Bundles.CreateDealAsync(host, admin.AccessToken, new { name = "After the restore", customerId = sales.Customer, amount = 1, currency = "EUR" }))
            .Should().NotBeEmpty();
    }

    [Fact]
    public async Task ReplacingATenantWithABundleWithoutAPipelineRemovesItsDealsStagesAndContactLinks()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Before the deals" });
        var versionTwo = Bundles.AsVersionTwo(await Bundles.ExportAsync(host, tenant.Id));
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend")).EnsureSuccessStatusCode();

        using var replaced = await Bundles.RestoreAsync(host, versionTwo, $"?tenantId={tenant.Id}&mode=replace");

        replaced.StatusCode.Should().Be(HttpStatusCode.Created, await replaced.Content.ReadAsStringAsync());
        foreach (var table in new[] { "deals", "deal_contacts", "pipeline_stages" })
        {
            (await Bundles.CountAsync(host, table, tenant.Id)).Should().Be(0, table);
        }

        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/deals/{sales.Open}", tenant.Admin.AccessToken);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound, "no live deal grain may serve the replaced rows");
        (await Bundles.StagesAsync(host, tenant.Admin.AccessToken)).Select(s => s["name"]!.GetValue<string>())
            .Should().Equal(["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"], "no live pipeline grain may serve the replaced stages");
    }

    [Fact]
    public async Task ReplacingATenantPutsBackTheBundlesPipelineAndDealsExactly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        var later = await Bundles.CreateDealAsync(host, token, new { name = "Created after the export", customerId = sales.Customer, amount = 5, currency = "EUR" });
        var stages = await Bundles.StagesAsync(host, token);
        await Bundles.ReplaceStagesAsync(host, token, [Bundles.Stage(stages[0], "Only open stage"), Bundles.Stage(stages[4]), Bundles.Stage(stages[5])],
            moveTo: stages[0]["id"]!.GetValue<string>());
        using (var update = await host.SendAsync(HttpMethod.Put, $"/api/deals/{sales.Lost}", token, new
        {
            name = "Changed after the export", customerId = sales.Customer, contactIds = Array.Empty<string>(), amount = 7, currency = "USD",
            stageId = stages[4]["id"]!.GetValue<string>(),
        }))
        {
            update.StatusCode.Should().Be(HttpStatusCode.OK, await update.Content.ReadAsStringAsync());
        }

        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend")).EnsureSuccessStatusCode();

        using var replaced = await Bundles.RestoreAsync(host, bundle, $"?tenantId={tenant.Id}&mode=replace");
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        replaced.StatusCode.Should().Be(HttpStatusCode.Created, await replaced.Content.ReadAsStringAsync());
        JsonNode.DeepEquals(after["pipeline"], Bundles.Parse(bundle)["pipeline"]).Should().BeTrue();
        JsonNode.DeepEquals(after["deals"], Bundles.Parse(bundle)["deals"]).Should().BeTrue();
        (await Bundles.CountAsync(host, "deal_contacts", tenant.Id)).Should().Be(3);
        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/deals/{later}", token);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
        using var reverted = await host.SendAsync(HttpMethod.Get, $"/api/deals/{sales.Lost}", token);
        (await reverted.JsonAsync())["name"]!.GetValue<string>().Should().Be("Lost at once", "no live deal grain may serve the replaced row");
        (await Bundles.StagesAsync(host, token)).Select(s => s["name"]!.GetValue<string>()).Should().Equal(sales.StageNames);
    }

    [Theory]
    [InlineData("foreign customer")]
    [InlineData("missing contact")]
    [InlineData("missing stage")]
    [InlineData("status not the stage's kind")]
    [InlineData("closed while open")]
    [InlineData("amount with five decimals")]
    [InlineData("amount written with five decimals")]
    [InlineData("unknown currency")]
    [InlineData("stage removed from the pipeline")]
    [InlineData("two stages of one name")]
    [InlineData("no open stage")]
    [InlineData("deal counts")]
    public async Task ADealOrPipelineTheRestoreCannotHoldIsRefusedByNameAndNothingIsWritten(string defect)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var sales = await Bundles.SeedSalesAsync(host, tenant);
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var json = Bundles.Parse(bundle);
        var index = json["deals"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).ToList().IndexOf(sales.Open);
        var deal = $"deals[{index}] ({sales.Open}): ";
        var stages = json["pipeline"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).ToList();
        var unknown = Guid.NewGuid().ToString();
        var expected = defect switch
        {
            "foreign customer" => deal + $"customerId {unknown} is not a customer in the bundle",
            "missing contact" => deal + $"contactIds: {unknown} is not a contact in the bundle",
            "missing stage" => deal + $"stageId {unknown} is not a stage in the bundle's pipeline",
            "status not the stage's kind" => deal + $"status \"won\" is not the kind of stage {stages[2]} (\"open\")",
            "closed while open" => deal + "closedAt:",
            "amount with five decimals" or "amount written with five decimals" => deal + "amount:",
            "unknown currency" => deal + "currency:",
            "stage removed from the pipeline" => deal + $"stageId {stages[2]} is not a stage in the bundle's pipeline",
            "two stages of one name" => $"pipeline[1] ({stages[1]}): name: Two stages cannot have the same name.",
            "no open stage" => "pipeline: A pipeline has at least one open stage",
            _ => "counts: the bundle states",
        };
        var damaged = Bundles.EditAndSign(bundle, edit =>
        {
            var row = edit["deals"]![index]!;
            var pipeline = edit["pipeline"]!.AsArray();
            switch (defect)
            {
                case "foreign customer":
                    row["customerId"] = unknown;
                    break;
                case "missing contact":
                    row["contactIds"]!.AsArray().Add(unknown);
                    break;
                case "missing stage":
                    row["stageId"] = unknown;
                    break;
                case "status not the stage's kind":
                    row["status"] = "won";
                    row["closedAt"] = edit["exportedAt"]!.GetValue<string>();
                    break;
                case "closed while open":
                    row["closedAt"] = edit["exportedAt"]!.GetValue<string>();
                    break;
                case "amount with five decimals":
                    row["amount"] = JsonValue.Create(1.23456m);
                    break;
                case "amount written with five decimals":
                    row["amount"] = JsonValue.Create(1.50000m);
                    break;
                case "unknown currency":
                    row["currency"] = "XXY";
                    break;
                case "stage removed from the pipeline":
                    pipeline.RemoveAt(2);
                    break;
                case "two stages of one name":
                    pipeline[1]!["name"] = pipeline[0]!["name"]!.GetValue<string>().ToUpperInvariant();
                    break;
                case "no open stage":
                    foreach (var stage in pipeline.Where(s => s!["kind"]!.GetValue<string>() == "open"))
                    {
                        stage!["kind"] = "lost";
                    }

                    break;
                case "deal counts":
                    edit["counts"]!["deals"] = 2;
                    break;
            }
        });

        using var response = await Bundles.RestoreAsync(host, damaged);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-bundle"));
        problem["detail"]!.GetValue<string>().Should().Contain(expected);
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
        (await AuditCountAsync(host, tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task ATenantAdminsPortabilityExportCannotBeRestored()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var export = await Bundles.GetExportAsync(host, tenant.Admin.AccessToken, null);
        var bundle = await export.Content.ReadAsByteArrayAsync();
        await Bundles.PurgeAsync(host, tenant.Id);

        using var response = await Bundles.RestoreAsync(host, bundle);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("not signed: a tenant admin's export");
    }

    [Fact]
    public async Task RestoringOverATenantRemovesItsApiKeysWebhooksAndSupportSettingAndNoLiveGrainStillServesThem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        using (var key = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken, new { name = "after the export" }))
        using (var off = await host.SendAsync(HttpMethod.Put, "/api/tenants/settings", tenant.Admin.AccessToken, new { allowSupportAccess = false }))
        using (var webhook = await host.SendAsync(HttpMethod.Post, "/api/webhooks", tenant.Admin.AccessToken,
            new { url = "https://93.184.215.14/hook", events = new[] { "customer.created" }, active = false }))
        {
            key.StatusCode.Should().Be(HttpStatusCode.Created);
            off.StatusCode.Should().Be(HttpStatusCode.OK);
            webhook.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend")).EnsureSuccessStatusCode();
        using var replaced = await Bundles.RestoreAsync(host, bundle, $"?tenantId={tenant.Id}&mode=replace");
        using var keys = await host.SendAsync(HttpMethod.Get, "/api/api-keys", tenant.Admin.AccessToken);
        using var settings = await host.SendAsync(HttpMethod.Get, "/api/tenants/settings", tenant.Admin.AccessToken);
        using var webhooks = await host.SendAsync(HttpMethod.Get, "/api/webhooks", tenant.Admin.AccessToken);

        replaced.StatusCode.Should().Be(HttpStatusCode.Created);
        (await keys.JsonAsync())["items"]!.AsArray().Should().BeEmpty("keys are not in bundles, and the replaced tenant's key went with its rows");
        (await webhooks.JsonAsync())["items"]!.AsArray().Should().BeEmpty("webhooks (their secrets) are not in bundles either, and the live grain was dropped");
        (await settings.JsonAsync())["allowSupportAccess"]!.GetValue<bool>().Should().BeTrue("a restored tenant starts from the default");
    }

    [Fact]
    public async Task RestoringOverAnExistingTenantIsAConflictUnlessReplacingANonActiveOne()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var kept = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Kept" });
        var keptContact = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Kept", customerId = kept });
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        var later = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Created after the export" });
        var laterContact = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Created after the export", customerId = later });
        using (var rename = await host.SendAsync(HttpMethod.Put, $"/api/customers/{kept}", tenant.Admin.AccessToken, new { name = "Renamed after the export" }))
        using (var move = await host.SendAsync(HttpMethod.Put, $"/api/contacts/{keptContact}", tenant.Admin.AccessToken,
            new { lastName = "Renamed after the export", customerId = later }))
        {
            rename.EnsureSuccessStatusCode();
            move.EnsureSuccessStatusCode();
        }

        using var existing = await Bundles.RestoreAsync(host, bundle);
        using var active = await Bundles.RestoreAsync(host, bundle, $"?tenantId={tenant.Id}&mode=replace");
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend")).EnsureSuccessStatusCode();
        using var replaced = await Bundles.RestoreAsync(host, bundle, $"?tenantId={tenant.Id}&mode=replace");

        existing.StatusCode.Should().Be(HttpStatusCode.Conflict);
        active.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await active.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("active");
        replaced.StatusCode.Should().Be(HttpStatusCode.Created);
        (await replaced.JsonAsync())["tenant"]!["status"]!.GetValue<string>().Should().Be("active", "a restored tenant has the status it was exported with");
        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/customers/{later}", tenant.Admin.AccessToken);
        using var reverted = await host.SendAsync(HttpMethod.Get, $"/api/customers/{kept}", tenant.Admin.AccessToken);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound, "no live grain may serve the replaced rows");
        (await reverted.JsonAsync())["name"]!.GetValue<string>().Should().Be("Kept");
        using var goneContact = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{laterContact}", tenant.Admin.AccessToken);
        using var revertedContact = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{keptContact}", tenant.Admin.AccessToken);
        goneContact.StatusCode.Should().Be(HttpStatusCode.NotFound, "no live contact grain may serve the replaced rows");
        var contact = await revertedContact.JsonAsync();
        contact["lastName"]!.GetValue<string>().Should().Be("Kept");
        contact["customerId"]!.GetValue<string>().Should().Be(kept);
        using var write = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "After the restore" });
        write.StatusCode.Should().Be(HttpStatusCode.Created);
        using var verify = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", tenant.Admin.AccessToken);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue("the audit writer must not continue from the replaced chain's head");
    }

    [Fact]
    public async Task ACloneGetsANewIdNewAdminEmailsAndAChainOfItsOwn()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var owner = member.Body["user"]!["id"]!.GetValue<string>();
        var copied = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Copied", ownerUserId = owner });
        var contact = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Copied", customerId = copied, ownerUserId = owner });
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        var newAdmin = $"sandbox-{Guid.NewGuid():N}@clone.test";

        using var withoutEmail = await Bundles.RestoreAsync(host, bundle, "?as=new");
        using var clone = await Bundles.RestoreAsync(host, bundle, $"?as=new&adminEmail={newAdmin}&name=Sandbox");

        withoutEmail.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await withoutEmail.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(tenant.AdminEmail);
        clone.StatusCode.Should().Be(HttpStatusCode.Created);
        var body = await clone.JsonAsync();
        var cloneId = Guid.Parse(body["tenant"]!["id"]!.GetValue<string>());
        cloneId.Should().NotBe(tenant.Id);
        body["tenant"]!["name"]!.GetValue<string>().Should().Be("Sandbox");
        body["sourceTenantId"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        var admin = await host.LoginAsync(newAdmin, tenant.AdminPassword);
        using var customers = await host.SendAsync(HttpMethod.Get, "/api/customers", admin.AccessToken);
        (await customers.JsonAsync())["items"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).Should().Equal("Copied");
        using var contacts = await host.SendAsync(HttpMethod.Get, $"/api/contacts?customerId={copied}&pageSize=200", admin.AccessToken);
        var cloned = (await contacts.JsonAsync())["items"]!.AsArray().Should().ContainSingle().Subject!;
        cloned["id"]!.GetValue<string>().Should().Be(contact, "a clone keeps record ids: keys include the tenant");
        cloned["ownerUserId"]!.GetValue<string>().Should().Be(owner);
        using var users = await host.SendAsync(HttpMethod.Get, "/api/users", admin.AccessToken);
        (await users.JsonAsync())["items"]!.AsArray().Where(u => u!["role"]!.GetValue<string>() == "member")
            .Should().ContainSingle().Which!["disabled"]!.GetValue<bool>().Should().BeTrue();
        using var log = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=tenant.restored", admin.AccessToken);
        var first = (await log.JsonAsync())["items"]!.AsArray().Single()!;
        first["seq"]!.GetValue<long>().Should().Be(1);
        first["details"]!["source"]!["tenantId"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        using var verify = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", admin.AccessToken);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
        (await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword)).Body["user"]!["tenantId"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
    }

    [Fact]
    public async Task ARestoreWhoseEmailAlsoBelongsToAnotherTenantSucceeds()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var other = await host.ProvisionIdAsync(TenantBody.New() with { AdminEmail = tenant.AdminEmail, AdminPassword = "other-admin-password" });

        using var response = await Bundles.RestoreAsync(host, bundle);

        response.StatusCode.Should().Be(HttpStatusCode.Created, "e-mail addresses are unique per tenant");
        (await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword)).Body["user"]!["tenantId"]!.GetValue<Guid>().Should().Be(tenant.Id);
        (await host.LoginAsync(tenant.AdminEmail, "other-admin-password")).Body["user"]!["tenantId"]!.GetValue<Guid>().Should().Be(other);
    }

    [Fact]
    public async Task AnExportLargerThanTheOneMegabyteJsonLimitIsRestored()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await Bundles.SeedCustomersAsync(host, tenant.Id, 2_000, notesLength: 1_000);
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);

        using var response = await Bundles.RestoreAsync(host, bundle);

        bundle.Length.Should().BeGreaterThan(2 * 1024 * 1024);
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        (await response.JsonAsync())["counts"]!["customers"]!.GetValue<long>().Should().Be(2_000);
    }

    [Fact]
    public async Task ARestoreNeedsASuperAdminAndJson()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var bundle = await Bundles.ExportAsync(host, tenant.Id);

        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/admin/tenants/restore", tenant.Admin.AccessToken);
        request.Content = new ByteArrayContent(bundle);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var byTenantAdmin = await host.Client.SendAsync(request);
        using var plain = ApiHost.Authorized(HttpMethod.Post, "/api/admin/tenants/restore", await host.SharedSuperAdminTokenAsync());
        plain.Content = new ByteArrayContent(bundle);
        using var notJson = await host.Client.SendAsync(plain);
        using var badMode = await Bundles.RestoreAsync(host, bundle, "?mode=merge");

        byTenantAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        notJson.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        badMode.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await badMode.ProblemAsync())["errors"]!.AsObject().ContainsKey("mode").Should().BeTrue();
    }

    private static async Task<long> AuditCountAsync(ApiHost host, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM audit_logs WHERE tenant_id = $1", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
