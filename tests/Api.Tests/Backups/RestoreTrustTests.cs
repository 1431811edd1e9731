using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Security;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Backups;

/// <summary>A restore trusts the server's signature and the operator's choice of tenant, never the bundle alone.</summary>
public sealed class RestoreTrustTests
{
    [Fact]
    public async Task AnEditedSuperAdminExportWithARecomputedChecksumIsRefusedAsNotMatchingItsSignature()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Original" });
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var edited = Bundles.Edit(bundle, json => json["customers"]![0]!["name"] = "Edited after the export");

        using var response = await Bundles.RestoreAsync(host, edited);

        Bundles.Parse(bundle)["signature"]!["algorithm"]!.GetValue<string>().Should().Be("hmac-sha256");
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-bundle"));
        problem["detail"]!.GetValue<string>().Should().Contain("signature does not match");
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task ATenantAdminsExportWithSecretsFlippedAndPasswordHashesAddedIsRefusedAsNotSigned()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var export = await Bundles.GetExportAsync(host, tenant.Admin.AccessToken, null);
        var portable = await export.Content.ReadAsByteArrayAsync();
        await Bundles.PurgeAsync(host, tenant.Id);
        var forged = Bundles.Edit(portable, json =>
        {
            json["secrets"] = true;
            foreach (var user in json["users"]!.AsArray())
            {
                user!["passwordHash"] = PasswordHashing.Hash("chosen-by-the-tenant-admin", PasswordHashing.DefaultIterations);
            }
        });

        using var response = await Bundles.RestoreAsync(host, forged);

        Bundles.Parse(portable).ContainsKey("signature").Should().BeFalse("a tenant admin's export is not signed");
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-bundle"));
        problem["detail"]!.GetValue<string>().Should().Contain("not signed: a tenant admin's export cannot be restored");
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task ABundleSignedWithThePreviousKeyRestoresWhileItIsListedAndAnUnlistedKeyIsRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var byPreviousKey = Bundles.EditAndSign(bundle, _ => { }, ApiHost.PreviousBundleKey);
        var byUnknownKey = Bundles.EditAndSign(bundle, _ => { }, "a-key-this-server-has-never-held-0123456789"u8.ToArray());

        using var unknown = await Bundles.RestoreAsync(host, byUnknownKey);
        using var previous = await Bundles.RestoreAsync(host, byPreviousKey);

        unknown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unknown.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("which this server does not hold");
        previous.StatusCode.Should().Be(HttpStatusCode.Created);
        (await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword)).Body["user"]!["tenantId"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
    }

    [Fact]
    public async Task WithoutAConfiguredKeyAnOwnerOnlyKeyIsGeneratedAtStartAndSignsExports()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database, settings: ["--Shohayota:Backups:SigningKey=", "--Shohayota:Backups:PreviousSigningKeys="]);
        var file = Path.Combine(database.Directory, "bundle-signing.key");
        var generated = File.Exists(file);
        var tenant = await host.ProvisionTenantAsync();

        var bundle = await Bundles.ExportAsync(host, tenant.Id);

        generated.Should().BeTrue("the key exists from start-up on, so add-node.sh can hand it to the next node");
        File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var json = Bundles.Parse(bundle);
        var key = Convert.FromBase64String((await File.ReadAllTextAsync(file)).Trim());
        JsonNode.DeepEquals(json["signature"], Bundles.Signature(key, json["checksum"]!["value"]!.GetValue<string>())).Should().BeTrue();
    }

    [Theory]
    [InlineData("")]
    [InlineData("&mode=replace")]
    public async Task ABundleRestoredUnderAnotherTenantsIdIsRefusedAndThatTenantIsUntouched(string mode)
    {
        var host = await ApiHost.SharedAsync();
        var source = await host.ProvisionTenantAsync();
        var bundle = await Bundles.ExportAsync(host, source.Id);
        var other = await host.ProvisionTenantAsync();
        await Bundles.CreateCustomerAsync(host, other.Admin.AccessToken, new { name = "Belongs to the other tenant" });
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{other.Id}/suspend")).EnsureSuccessStatusCode();

        using var response = await Bundles.RestoreAsync(host, bundle, $"?tenantId={other.Id}{mode}");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-bundle"));
        problem["detail"]!.GetValue<string>().Should().Contain(source.Id.ToString()).And.Contain(other.Id.ToString());
        (await CustomerNamesAsync(host, other.Id)).Should().Equal("Belongs to the other tenant");
    }

    [Fact]
    public async Task ReplacingWithoutNamingTheTenantIsRefusedAndTheRunbooksPlainRestoreNeverReplaces()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Created after the export" });
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend")).EnsureSuccessStatusCode();

        using var replace = await Bundles.RestoreAsync(host, bundle, "?mode=replace");
        using var plain = await Bundles.RestoreAsync(host, bundle);

        replace.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await replace.ProblemAsync())["errors"]!.AsObject().ContainsKey("tenantId").Should().BeTrue();
        plain.StatusCode.Should().Be(HttpStatusCode.Conflict, "without tenantId a bundle may only recreate its own tenant when it is gone");
        (await CustomerNamesAsync(host, tenant.Id)).Should().Equal("Created after the export");
    }

    [Fact]
    public async Task APasswordHashWithAHugeIterationCountIsRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var costly = Bundles.EditAndSign(bundle, json =>
        {
            var parts = json["users"]![0]!["passwordHash"]!.GetValue<string>().Split('$');
            json["users"]![0]!["passwordHash"] = $"{parts[0]}$2147483647${parts[2]}${parts[3]}";
        });

        using var response = await Bundles.RestoreAsync(host, costly);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var detail = (await response.ProblemAsync())["detail"]!.GetValue<string>();
        detail.Should().Contain("users[0]").And.Contain("passwordHash").And.Contain("2147483647").And.Contain("outside the accepted");
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Theory]
    [InlineData("customer email", "customers[0]", "email:")]
    [InlineData("customer phone", "customers[0]", "phone:")]
    [InlineData("customer tags", "customers[0]", "tags:")]
    [InlineData("customer notes", "customers[0]", "notes:")]
    [InlineData("contact without a name", "contacts[0]", "lastName:")]
    [InlineData("contact email", "contacts[0]", "email:")]
    [InlineData("contact title", "contacts[0]", "title:")]
    [InlineData("deal without a name", "deals[0]", "name:")]
    [InlineData("deal amount", "deals[0]", "amount:")]
    [InlineData("deal currency", "deals[0]", "currency:")]
    [InlineData("deal contacts", "deals[0]", "contactIds:")]
    [InlineData("deal owner", "deals[0]", "is not a user in the bundle")]
    [InlineData("stage probability", "pipeline[0]", "probability:")]
    [InlineData("activity type", "activities[0]", "type:")]
    [InlineData("activity subject", "activities[0]", "subject:")]
    [InlineData("activity body", "activities[0]", "body:")]
    [InlineData("note with a due time", "activities[0]", "dueAt:")]
    [InlineData("completed note", "activities[0]", "completedAt:")]
    [InlineData("activity about nothing", "activities[0]", "customerId:")]
    [InlineData("activity assignee", "activities[0]", "assigneeUserId")]
    [InlineData("activity deal", "activities[0]", "dealId")]
    [InlineData("user name", "users[0]", "name:")]
    [InlineData("tenant contact e-mail", "tenant", "contactEmail:")]
    [InlineData("override", "overrides[0]", "quota:")]
    public async Task ARecordBreakingTheApisRulesIsRefusedNamingTheRecordAndField(string defect, string record, string field)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var valid = await Bundles.CreateCustomerAsync(host, tenant.Admin.AccessToken, new { name = "Valid", email = "valid@example.test" });
        var contact = await Bundles.CreateContactAsync(host, tenant.Admin.AccessToken, new { firstName = "Valid", customerId = valid });
        var validDeal = await Bundles.CreateDealAsync(host, tenant.Admin.AccessToken,
            new { name = "Valid", customerId = valid, contactIds = new[] { contact }, amount = 1, currency = "EUR" });
        await Bundles.CreateActivityAsync(host, tenant.Admin.AccessToken, new { type = "note", subject = "Valid", customerId = valid, dealId = validDeal });
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var invalid = Bundles.EditAndSign(bundle, json =>
        {
            var customer = json["customers"]![0]!;
            var contact = json["contacts"]![0]!;
            var deal = json["deals"]![0]!;
            var activity = json["activities"]![0]!;
            switch (defect)
            {
                case "activity type":
                    activity["type"] = "email";
                    break;
                case "activity subject":
                    activity["subject"] = new string('s', 201);
                    break;
                case "activity body":
                    activity["body"] = new string('b', 20_001);
                    break;
                case "note with a due time":
                    activity["dueAt"] = json["exportedAt"]!.GetValue<string>();
                    break;
                case "completed note":
                    activity["completedAt"] = json["exportedAt"]!.GetValue<string>();
                    break;
                case "activity about nothing":
                    activity["customerId"] = null;
                    activity["dealId"] = null;
                    break;
                case "activity assignee":
                    activity["assigneeUserId"] = Guid.NewGuid().ToString();
                    break;
                case "activity deal":
                    activity["dealId"] = Guid.NewGuid().ToString();
                    break;
                case "deal without a name":
                    deal["name"] = " ";
                    break;
                case "deal amount":
                    deal["amount"] = -1;
                    break;
                case "deal currency":
                    deal["currency"] = "eur";
                    break;
                case "deal contacts":
                    deal["contactIds"]!.AsArray().Add(deal["contactIds"]![0]!.DeepClone());
                    break;
                case "deal owner":
                    deal["ownerUserId"] = Guid.NewGuid().ToString();
                    break;
                case "stage probability":
                    json["pipeline"]![0]!["probability"] = 101;
                    break;
                case "contact without a name":
                    contact["firstName"] = null;
                    break;
                case "contact email":
                    contact["email"] = "not an e-mail address";
                    break;
                case "contact title":
                    contact["title"] = new string('t', 201);
                    break;
                case "customer email":
                    customer["email"] = new string('a', 250) + "@example.test";
                    break;
                case "customer phone":
                    customer["phone"] = new string('1', 51);
                    break;
                case "customer tags":
                    customer["tags"] = new JsonArray(Enumerable.Range(0, 21).Select(i => (JsonNode)JsonValue.Create($"t{i}")).ToArray());
                    break;
                case "customer notes":
                    customer["notes"] = new string('n', 10_001);
                    break;
                case "user name":
                    json["users"]![0]!["name"] = new string('u', 201);
                    break;
                case "tenant contact e-mail":
                    json["tenant"]!["contactEmail"] = "not an e-mail address";
                    break;
                case "override":
                    json["overrides"]!.AsArray().Add(new JsonObject
                    {
                        ["quota"] = "everything", ["value"] = 1, ["expiresAt"] = null, ["reason"] = null, ["createdAt"] = json["exportedAt"]!.GetValue<string>(),
                    });
                    json["counts"]!["overrides"] = 1;
                    break;
            }
        });

        using var response = await Bundles.RestoreAsync(host, invalid);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("invalid-bundle"));
        problem["detail"]!.GetValue<string>().Should().Contain(record).And.Contain(field);
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task ARestoreAboveThePlansQuotaIsRefusedWithTheCountsAndAcceptedWithIgnoreQuotasWhichIsAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync("free");
        await Bundles.SeedCustomersAsync(host, tenant.Id, 501);
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);

        using var refused = await Bundles.RestoreAsync(host, bundle);
        var absent = await host.RunbookTenantAsync(tenant.Id);
        using var accepted = await Bundles.RestoreAsync(host, bundle, "?ignoreQuotas=true");

        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var problem = await refused.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("quota-exceeded"));
        problem["detail"]!.GetValue<string>().Should().Contain("customers 501 of 500").And.Contain("users 1 of 3");
        absent.Should().BeNull();
        accepted.StatusCode.Should().Be(HttpStatusCode.Created);
        using var log = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?tenantId={tenant.Id}&action=tenant.restored", await host.SharedSuperAdminTokenAsync());
        var details = (await log.JsonAsync())["items"]!.AsArray().Single()!["details"]!;
        details["ignoreQuotas"]!.GetValue<bool>().Should().BeTrue();
        details["quotasExceeded"]!["customers"]!["used"]!.GetValue<long>().Should().Be(501);
        details["quotasExceeded"]!["customers"]!["limit"]!.GetValue<long>().Should().Be(500);
    }

    private static async Task<List<string>> CustomerNamesAsync(ApiHost host, Guid tenantId)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT name FROM customers WHERE tenant_id = $1 ORDER BY name", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        var names = new List<string>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
