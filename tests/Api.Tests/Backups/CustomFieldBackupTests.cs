using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Backups;

/// <summary>Custom-field definitions and values through export, restore and the refusals of a restore.</summary>
public sealed class CustomFieldBackupTests
{
    [Fact]
    public async Task ExportHardDeleteRestoreCarriesEveryDefinitionAndEveryValueFieldByField()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customerFields = new[]
        {
            Bundles.Field("industry", "Industry", "select", true, "Energy", "Retail \"big\"", "Ünïcode"),
            Bundles.Field("employees", "Employees", "number"),
            Bundles.Field("founded", "Founded", "date"),
            Bundles.Field("vip", "VIP", "boolean"),
            Bundles.Field("motto", "Motto \"quoted\"", "text"),
        };
        var contactFields = new[] { Bundles.Field("birthday", "Birthday", "date"), Bundles.Field("newsletter", "Newsletter", "boolean", true) };
        var dealFields = new[] { Bundles.Field("priority", "Priority", "select", false, "low", "high"), Bundles.Field("budget", "Budget", "number") };
        await Bundles.ReplaceCustomFieldsAsync(host, token, "customers", customerFields);
        await Bundles.ReplaceCustomFieldsAsync(host, token, "contacts", contactFields);
        await Bundles.ReplaceCustomFieldsAsync(host, token, "deals", dealFields);
        var full = await Bundles.CreateCustomerAsync(host, token, new
        {
            name = "Has every field",
            customFields = new { industry = "Retail \"big\"", employees = 1250.5m, founded = "1999-12-31", vip = true, motto = "Grüße \"x\"\nsecond line 😀" },
        });
        var sparse = await Bundles.CreateCustomerAsync(host, token, new { name = "Only the required one", customFields = new { industry = "Ünïcode" } });
        var contact = await Bundles.CreateContactAsync(host, token, new
        {
            lastName = "Has both", customerId = full, customFields = new { birthday = "1980-02-29", newsletter = false },
        });
        var deal = await Bundles.CreateDealAsync(host, token, new
        {
            name = "Has both", customerId = full, amount = 10, currency = "EUR", customFields = new { priority = "high", budget = -1234567.125m },
        });
        var plain = await Bundles.CreateDealAsync(host, token, new { name = "Has none", customerId = sparse, amount = 1, currency = "EUR" });
        // A field made required after a contact was written: the contact has no value for it until it is edited, and restores so.
        contactFields = [.. contactFields, Bundles.Field("region", "Region", "text", true)];
        await Bundles.ReplaceCustomFieldsAsync(host, token, "contacts", contactFields);
        var expectedFields = new Dictionary<string, JsonObject[]> { ["customers"] = customerFields, ["contacts"] = contactFields, ["deals"] = dealFields };

        var exported = await Bundles.ExportAsync(host, tenant.Id);
        var before = Bundles.Parse(exported);
        var laterField = Bundles.Field("later", "Added after the export", "text");
        await Bundles.ReplaceCustomFieldsAsync(host, token, "deals", [.. dealFields, laterField]);
        await Bundles.PurgeAsync(host, tenant.Id);
        using var restore = await Bundles.RestoreAsync(host, exported);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        before.Select(p => p.Key).Should().ContainInConsecutiveOrder("users", "customFields", "customers");
        before["customFields"]!.AsObject().Select(p => p.Key).Should().Equal("customers", "contacts", "deals");
        foreach (var (recordType, fields) in expectedFields)
        {
            JsonNode.DeepEquals(before["customFields"]![recordType], new JsonArray(fields.Select(f => f.DeepClone()).ToArray())).Should().BeTrue(recordType);
        }

        var rows = before["customers"]!.AsArray().ToDictionary(c => c!["id"]!.GetValue<string>(), c => c!.AsObject());
        rows[full].Select(p => p.Key).Should().ContainInConsecutiveOrder("ownerUserId", "customFields", "createdAt");
        ExpectCanonical(rows[full]["customFields"]!,
            """{"employees":1250.5,"founded":"1999-12-31","industry":"Retail \"big\"","motto":"Grüße \"x\"\nsecond line 😀","vip":true}""");
        ExpectCanonical(rows[sparse]["customFields"]!, """{"industry":"Ünïcode"}""");
        System.Text.Encoding.UTF8.GetString(exported).Should().Contain(""","customFields":{"industry":"Ünïcode"},"createdAt":""", "the row's canonical text is written as it is");
        before["contacts"]![0]!["customFields"]!.ToJsonString().Should().Be("""{"birthday":"1980-02-29","newsletter":false}""");
        var deals = before["deals"]!.AsArray().ToDictionary(d => d!["id"]!.GetValue<string>(), d => d!);
        deals[deal]["customFields"]!.ToJsonString().Should().Be("""{"budget":-1234567.125,"priority":"high"}""");
        deals[plain]["customFields"]!.ToJsonString().Should().Be("{}");
        JsonNode.DeepEquals(Bundles.Data(after, dropLastAuditEntries: 1), Bundles.Data(before)).Should().BeTrue();

        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        foreach (var (recordType, fields) in expectedFields)
        {
            var served = await Bundles.CustomFieldsAsync(host, admin.AccessToken, recordType);
            served.Select(f => f!["key"]!.GetValue<string>()).Should().Equal(fields.Select(f => f["key"]!.GetValue<string>()), recordType);
            for (var i = 0; i < fields.Length; i++)
            {
                var field = Bundles.AsField(served[i]!);
                foreach (var property in new[] { "key", "label", "type", "options", "required" })
                {
                    JsonNode.DeepEquals(field[property], fields[i][property]).Should().BeTrue($"{recordType}[{i}].{property}");
                }
            }
        }

        await ExpectValuesAsync(host, admin.AccessToken, $"/api/customers/{full}", rows[full]["customFields"]!);
        await ExpectValuesAsync(host, admin.AccessToken, $"/api/customers/{sparse}", rows[sparse]["customFields"]!);
        await ExpectValuesAsync(host, admin.AccessToken, $"/api/contacts/{contact}", before["contacts"]![0]!["customFields"]!);
        await ExpectValuesAsync(host, admin.AccessToken, $"/api/deals/{deal}", deals[deal]["customFields"]!);
        await ExpectValuesAsync(host, admin.AccessToken, $"/api/deals/{plain}", new JsonObject());
        using var filtered = await host.SendAsync(HttpMethod.Get, "/api/customers?cf.industry=" + Uri.EscapeDataString("Retail \"big\""), admin.AccessToken);
        (await filtered.JsonAsync())["items"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().Equal(full);
    }

    [Fact]
    public async Task AVersionThreeBundleRestoresWithNoDefinitionsAndNoValues()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await Bundles.ReplaceCustomFieldsAsync(host, token, "customers", Bundles.Field("tier", "Tier", "text"));
        var customer = await Bundles.CreateCustomerAsync(host, token, new { name = "Had a tier", customFields = new { tier = "gold" } });
        var versionThree = Bundles.AsVersionThree(await Bundles.ExportAsync(host, tenant.Id));
        await Bundles.PurgeAsync(host, tenant.Id);

        using var restore = await Bundles.RestoreAsync(host, versionThree);
        var after = Bundles.Parse(await Bundles.ExportAsync(host, tenant.Id));

        restore.StatusCode.Should().Be(HttpStatusCode.Created, await restore.Content.ReadAsStringAsync());
        var admin = await host.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        foreach (var recordType in new[] { "customers", "contacts", "deals" })
        {
            after["customFields"]![recordType]!.AsArray().Should().BeEmpty(recordType);
            (await Bundles.CustomFieldsAsync(host, admin.AccessToken, recordType)).Should().BeEmpty(recordType);
        }

        after["customers"]!.AsArray().Single()!["customFields"]!.ToJsonString().Should().Be("{}");
        await ExpectValuesAsync(host, admin.AccessToken, $"/api/customers/{customer}", new JsonObject());
    }

    [Theory]
    [InlineData("option")]
    [InlineData("unknown key")]
    [InlineData("type")]
    [InlineData("contact value")]
    [InlineData("deal value")]
    [InlineData("nested value")]
    [InlineData("definition key")]
    [InlineData("select without options")]
    [InlineData("definitions twice")]
    public async Task AValueOrDefinitionTheRulesDoNotAllowIsRefusedByNameAndNothingIsWritten(string defect)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await Bundles.ReplaceCustomFieldsAsync(host, token, "customers",
            Bundles.Field("industry", "Industry", "select", false, "Energy", "Retail"), Bundles.Field("employees", "Employees", "number"));
        await Bundles.ReplaceCustomFieldsAsync(host, token, "contacts", Bundles.Field("birthday", "Birthday", "date"));
        await Bundles.ReplaceCustomFieldsAsync(host, token, "deals", Bundles.Field("won_by", "Won by", "text"));
        var customer = await Bundles.CreateCustomerAsync(host, token, new { name = "Valued", customFields = new { industry = "Energy", employees = 12 } });
        var contact = await Bundles.CreateContactAsync(host, token, new { lastName = "Valued", customFields = new { birthday = "2000-01-01" } });
        var deal = await Bundles.CreateDealAsync(host, token, new { name = "Valued", customerId = customer, amount = 1, currency = "EUR" });
        var bundle = await Bundles.ExportAsync(host, tenant.Id);
        await Bundles.PurgeAsync(host, tenant.Id);
        var damaged = Bundles.EditAndSign(bundle, json =>
        {
            var values = json["customers"]![0]!["customFields"]!.AsObject();
            switch (defect)
            {
                case "option":
                    values["industry"] = "Mining";
                    break;
                case "unknown key":
                    values["nope"] = "x";
                    break;
                case "type":
                    values["employees"] = "twelve";
                    break;
                case "contact value":
                    json["contacts"]![0]!["customFields"]!["birthday"] = "2000-02-30";
                    break;
                case "deal value":
                    json["deals"]![0]!["customFields"]!["won_by"] = true;
                    break;
                case "nested value":
                    values["industry"] = new JsonObject { ["nested"] = 1 };
                    break;
                case "definition key":
                    json["customFields"]!["customers"]![1]!["key"] = "Employees";
                    break;
                case "select without options":
                    json["customFields"]!["customers"]![0]!["options"] = new JsonArray();
                    break;
                case "definitions twice":
                    json["customFields"]!["deals"]!.AsArray().Add(Bundles.Field("won_by", "Won by, again", "text"));
                    break;
            }
        });

        using var restore = await Bundles.RestoreAsync(host, damaged);

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(defect switch
        {
            "option" => $"customers[0] ({customer}): customFields.industry: Industry is one of: Energy, Retail.",
            "unknown key" => $"customers[0] ({customer}): customFields.nope: \"nope\" is not a custom field here; the custom fields are: industry, employees.",
            "type" => $"customers[0] ({customer}): customFields.employees: Employees is a number",
            "contact value" => $"contacts[0] ({contact}): customFields.birthday: Birthday is a date, YYYY-MM-DD.",
            "deal value" => $"deals[0] ({deal}): customFields.won_by: Won by is text",
            "nested value" => "customers[0]: customFields.industry must be a string, a number, true or false",
            "definition key" => "customFields.customers[1].key: A key starts with a lower-case letter",
            "select without options" => "customFields.customers[0].options: A select field has 1 to",
            _ => "customFields.deals[1].key: The key \"won_by\" is given twice.",
        });
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
        (await Bundles.CountAsync(host, "custom_field_definitions", tenant.Id)).Should().Be(0);
    }

    /// <summary>A bundle row's values are <paramref name="expected"/>, keys in ordinal order (the canonical object), numbers exact.</summary>
    private static void ExpectCanonical(JsonNode values, string expected)
    {
        var wanted = JsonNode.Parse(expected)!.AsObject();
        values.AsObject().Select(p => p.Key).Should().Equal(wanted.Select(p => p.Key));
        JsonNode.DeepEquals(values, wanted).Should().BeTrue($"{values.ToJsonString()} holds {expected}");
        foreach (var (key, value) in wanted.Where(p => p.Value!.GetValueKind() == System.Text.Json.JsonValueKind.Number))
        {
            values[key]!.ToJsonString().Should().Be(value!.ToJsonString(), "a number is written exactly");
        }
    }

    /// <summary>GET of a record: its <c>customFields</c> object is <paramref name="expected"/>, key by key.</summary>
    private static async Task ExpectValuesAsync(ApiHost host, string token, string path, JsonNode expected)
    {
        using var response = await host.SendAsync(HttpMethod.Get, path, token);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var served = (await response.JsonAsync())["customFields"]!.AsObject();
        served.Select(p => p.Key).Should().BeEquivalentTo(expected.AsObject().Select(p => p.Key), path);
        foreach (var (key, value) in expected.AsObject())
        {
            JsonNode.DeepEquals(served[key], value).Should().BeTrue($"{path}: customFields.{key} is {served[key]?.ToJsonString()}, not {value?.ToJsonString()}");
        }
    }
}
