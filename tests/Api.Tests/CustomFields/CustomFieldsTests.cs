using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Contacts;
using Shohayota.Api.Tests.Deals;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.CustomFields;

/// <summary>
/// Custom fields end to end over HTTP: a tenant admin's definitions (validated whole, audited, refused while records hold
/// values they would strand), the values customers, contacts and deals keep (checked on every write and import,
/// canonical, nothing written when refused), the <c>cf.{key}</c> filters, the CSV columns, storage and isolation.
/// </summary>
public sealed class CustomFieldsTests
{
    public static TheoryData<string> RecordTypes => ["customers", "contacts", "deals"];

    /// <summary>One field of each type; the select's options in their order.</summary>
    private static readonly object[] EveryType =
    [
        new { key = "industry", label = "Industry", type = "text" },
        new { key = "size", label = "Size", type = "number" },
        new { key = "since", label = "Customer since", type = "date" },
        new { key = "tier", label = "Tier", type = "select", options = new[] { "Gold", "Silver" } },
        new { key = "active", label = "Active", type = "boolean" },
    ];

    [Fact]
    public async Task AnAdminsDefinitionsAreReadByEveryUserStoredInOrderAndAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        using var empty = await host.SendAsync(HttpMethod.Get, "/api/custom-fields/customers", member.AccessToken);
        using var replaced = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", tenant.Admin.AccessToken,
            new { fields = EveryType.Append(new { key = "region", label = "  Region ", type = "text", required = true }) });
        using var read = await host.SendAsync(HttpMethod.Get, "/api/custom-fields/customers", member.AccessToken);
        using var contacts = await host.SendAsync(HttpMethod.Get, "/api/custom-fields/contacts", member.AccessToken);
        using var unknown = await host.SendAsync(HttpMethod.Get, "/api/custom-fields/widgets", member.AccessToken);
        using var unknownPut = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/activities", tenant.Admin.AccessToken, new { fields = EveryType });
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=custom_fields.updated", tenant.Admin.AccessToken);

        empty.StatusCode.Should().Be(HttpStatusCode.OK);
        (await empty.JsonAsync()).ToJsonString().Should().Be("""{"recordType":"customers","fields":[]}""");
        replaced.StatusCode.Should().Be(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
        var answered = await replaced.JsonAsync();
        (await read.JsonAsync()).ToJsonString().Should().Be(answered.ToJsonString(), "what a member reads is what the admin stored");
        answered["fields"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()).Should().Equal("industry", "size", "since", "tier", "active", "region");
        answered["fields"]![3]!.ToJsonString().Should().Be("""{"key":"tier","label":"Tier","type":"select","options":["Gold","Silver"],"required":false}""");
        answered["fields"]![5]!["label"]!.GetValue<string>().Should().Be("Region");
        answered["fields"]![5]!["required"]!.GetValue<bool>().Should().BeTrue();
        (await contacts.JsonAsync())["fields"]!.AsArray().Should().BeEmpty("each record type has its own fields");
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        unknown.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        unknownPut.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await DealsTests.CountAsync(host, tenant.Id, "custom_field_definitions")).Should().Be(6);
        var entry = (await audit.JsonAsync())["items"]!.AsArray().Single()!;
        entry["details"]!["recordType"]!.GetValue<string>().Should().Be("customers");
        entry["details"]!["fields"]!.AsArray().Should().HaveCount(6);
    }

    public static TheoryData<string, string> InvalidLists => new()
    {
        { "31 fields", "fields" },
        { "no fields property", "fields" },
        { "a key with a capital", "fields[0].key" },
        { "a key starting with a digit", "fields[0].key" },
        { "one key twice", "fields[1].key" },
        { "an empty label", "fields[0].label" },
        { "one label twice", "fields[1].label" },
        { "an unknown type", "fields[0].type" },
        { "a select without options", "fields[0].options" },
        { "a select option twice", "fields[0].options" },
        { "options on a text field", "fields[0].options" },
        { "a null field", "fields[0]" },
    };

    [Theory]
    [MemberData(nameof(InvalidLists))]
    public async Task AnInvalidDefinitionListIsRefusedNamingTheFieldAndChangesNothing(string mistake, string field)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await DefineAsync(host, tenant.Admin.AccessToken, "contacts", new { key = "kept", label = "Kept", type = "text" });
        object body = mistake switch
        {
            "31 fields" => new { fields = Enumerable.Range(0, 31).Select(i => new { key = $"f{i}", label = $"F{i}", type = "text" }) },
            "no fields property" => new { },
            "a key with a capital" => Fields(new { key = "Industry", label = "Industry", type = "text" }),
            "a key starting with a digit" => Fields(new { key = "1st", label = "First", type = "text" }),
            "one key twice" => Fields(new { key = "same", label = "One", type = "text" }, new { key = "same", label = "Two", type = "text" }),
            "an empty label" => Fields(new { key = "a", label = " ", type = "text" }),
            "one label twice" => Fields(new { key = "a", label = "Same", type = "text" }, new { key = "b", label = " same ", type = "number" }),
            "an unknown type" => Fields(new { key = "a", label = "A", type = "money" }),
            "a select without options" => Fields(new { key = "a", label = "A", type = "select", options = Array.Empty<string>() }),
            "a select option twice" => Fields(new { key = "a", label = "A", type = "select", options = new[] { "x", "x" } }),
            "options on a text field" => Fields(new { key = "a", label = "A", type = "text", options = new[] { "x" } }),
            _ => new { fields = new object?[] { null } },
        };

        using var refused = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/contacts", tenant.Admin.AccessToken, body);

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("validation"));
        (await refused.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Contain(field);
        (await KeysAsync(host, tenant.Admin.AccessToken, "contacts")).Should().Equal("kept");
    }

    [Fact]
    public async Task AMemberCannotReplaceTheDefinitions()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        using var refused = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", member.AccessToken, Fields(EveryType));

        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await DealsTests.CountAsync(host, tenant.Id, "custom_field_definitions")).Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(RecordTypes))]
    public async Task ValidValuesAreStoredCanonicalAndShownInTheResponseTheReadAndTheAudit(string records)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, records, EveryType);
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Owner");

        using var created = await host.SendAsync(HttpMethod.Post, $"/api/{records}", token, Body(records, customer, new
        {
            tier = "Gold", size = 1.50m, since = "2024-02-29", active = true, industry = "Bäckerei \"Ü\"", empty = (string?)null, blank = "",
        }));
        var createdBody = await created.JsonAsync();
        var id = createdBody["id"]!.GetValue<string>();
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/{records}/{id}", token);
        using var updated = await host.SendAsync(HttpMethod.Put, $"/api/{records}/{id}", token, Body(records, customer, new { size = 1e3m, active = false }));
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?targetId={id}", token);
        var row = await DealsTests.ScalarAsync(host, $"SELECT custom_fields::text FROM {records} WHERE id = '{id}'");

        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        const string canonical = """{"active":true,"industry":"Bäckerei \"Ü\"","since":"2024-02-29","size":1.5,"tier":"Gold"}""";
        Values(createdBody).Should().Be(canonical);
        Values(await read.JsonAsync()).Should().Be(canonical);
        updated.StatusCode.Should().Be(HttpStatusCode.OK, await updated.Content.ReadAsStringAsync());
        Values(await updated.JsonAsync()).Should().Be("""{"active":false,"size":1000}""", "a full update replaces the values");
        row.Should().Be("""{"size": 1000, "active": false}""");
        var entries = (await audit.JsonAsync())["items"]!.AsArray();
        var changes = entries.Single(e => e!["action"]!.GetValue<string>().EndsWith(".updated", StringComparison.Ordinal))!["details"]!["changes"]!;
        changes["cf.size"]!["before"]!.GetValue<string>().Should().Be("1.5");
        changes["cf.size"]!["after"]!.GetValue<string>().Should().Be("1000");
        changes["cf.active"]!["after"]!.GetValue<string>().Should().Be("false");
        changes["cf.tier"]!["before"]!.GetValue<string>().Should().Be("Gold", "a cleared value is a change too");
        changes["cf.tier"]!["after"].Should().BeNull();
        entries.Single(e => e!["action"]!.GetValue<string>().EndsWith(".created", StringComparison.Ordinal))!["details"]!["cf.tier"]!.GetValue<string>()
            .Should().Be("Gold");
    }

    public static TheoryData<string, string, string> InvalidValues()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var records in new[] { "customers", "contacts", "deals" })
        {
            data.Add(records, "an unknown key", "customFields.nope");
            data.Add(records, "a string for a number", "customFields.size");
            data.Add(records, "seven decimals", "customFields.size");
            data.Add(records, "a date that does not exist", "customFields.since");
            data.Add(records, "an option not in the list", "customFields.tier");
            data.Add(records, "a number for a boolean", "customFields.active");
            data.Add(records, "the required field missing", "customFields.region");
            data.Add(records, "not an object", "customFields");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidValues))]
    public async Task InvalidValuesAreRefusedNamingTheFieldAndNothingIsWritten(string records, string mistake, string field)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Owner");
        await DefineAsync(host, token, records, [.. EveryType, new { key = "region", label = "Region", type = "text", required = true }]);
        using var kept = await host.SendAsync(HttpMethod.Post, $"/api/{records}", token, Body(records, customer, new { region = "North" }));
        var id = (await kept.JsonAsync())["id"]!.GetValue<string>();
        object values = mistake switch
        {
            "an unknown key" => new { region = "North", nope = "x" },
            "a string for a number" => new { region = "North", size = "12" },
            "seven decimals" => new { region = "North", size = 1.1234567m },
            "a date that does not exist" => new { region = "North", since = "2023-02-29" },
            "an option not in the list" => new { region = "North", tier = "gold" },
            "a number for a boolean" => new { region = "North", active = 1 },
            "the required field missing" => new { size = 1 },
            _ => new[] { "North" },
        };
        var count = await DealsTests.CountAsync(host, tenant.Id, records);
        var storage = await DealsTests.StorageAsync(host, token);

        using var create = await host.SendAsync(HttpMethod.Post, $"/api/{records}", token, Body(records, customer, values));
        using var update = await host.SendAsync(HttpMethod.Put, $"/api/{records}/{id}", token, Body(records, customer, values));
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/{records}/{id}", token);

        foreach (var refused in new[] { create, update })
        {
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, mistake);
            (await refused.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Contain(field);
        }

        (await DealsTests.CountAsync(host, tenant.Id, records)).Should().Be(count);
        (await DealsTests.StorageAsync(host, token)).Should().Be(storage);
        var stored = await read.JsonAsync();
        stored["version"]!.GetValue<int>().Should().Be(1);
        Values(stored).Should().Be("""{"region":"North"}""");
    }

    [Fact]
    public async Task ListsFilterByCustomFieldsOfEveryTypeAndRefuseUnknownKeys()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, "customers", EveryType);
        await DefineAsync(host, other.Admin.AccessToken, "contacts", new { key = "role", label = "Role", type = "text" });
        await CreateAsync(host, token, "customers", new { name = "Bakery", customFields = new { industry = "Bakery", size = 12.5m, tier = "Gold", active = true, since = "2024-02-29" } });
        await CreateAsync(host, token, "customers", new { name = "Smithy", customFields = new { industry = "Smithy", size = 3, tier = "Silver", active = false } });
        await CreateAsync(host, token, "customers", new { name = "Plain" });

        var byFilter = new Dictionary<string, IEnumerable<string>>();
        foreach (var query in new[]
                 {
                     "cf.industry=Bakery", "cf.size=12.50", "cf.size=3", "cf.tier=Silver", "cf.active=true", "cf.active=FALSE", "cf.since=2024-02-29",
                     "cf.tier=Gold&cf.active=true", "cf.tier=Gold&cf.active=false", "cf.industry=bakery", "cf.industry=Bakery&status=lead",
                 })
        {
            using var response = await host.SendAsync(HttpMethod.Get, $"/api/customers?{query}", token);
            response.StatusCode.Should().Be(HttpStatusCode.OK, query);
            byFilter[query] = (await response.JsonAsync())["items"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        }

        using var unknown = await host.SendAsync(HttpMethod.Get, "/api/customers?cf.nope=1", token);
        using var badNumber = await host.SendAsync(HttpMethod.Get, "/api/customers?cf.size=many", token);
        using var badOption = await host.SendAsync(HttpMethod.Get, "/api/customers?cf.tier=Bronze", token);
        using var foreignKey = await host.SendAsync(HttpMethod.Get, "/api/contacts?cf.role=CEO", token);

        byFilter["cf.industry=Bakery"].Should().Equal("Bakery");
        byFilter["cf.size=12.50"].Should().Equal(["Bakery"], "numbers compare by value");
        byFilter["cf.size=3"].Should().Equal("Smithy");
        byFilter["cf.tier=Silver"].Should().Equal("Smithy");
        byFilter["cf.active=true"].Should().Equal("Bakery");
        byFilter["cf.active=FALSE"].Should().Equal("Smithy");
        byFilter["cf.since=2024-02-29"].Should().Equal("Bakery");
        byFilter["cf.tier=Gold&cf.active=true"].Should().Equal("Bakery");
        byFilter["cf.tier=Gold&cf.active=false"].Should().BeEmpty("several filters all apply");
        byFilter["cf.industry=bakery"].Should().BeEmpty("text matches exactly");
        byFilter["cf.industry=Bakery&status=lead"].Should().Equal("Bakery");
        foreach (var (refused, parameter) in new[] { (unknown, "cf.nope"), (badNumber, "cf.size"), (badOption, "cf.tier"), (foreignKey, "cf.role") })
        {
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, parameter);
            (await refused.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Contain(parameter);
        }
    }

    [Fact]
    public async Task ASearchCombinesWithCustomFieldFiltersAndPagesWholePages()
    {
        // customer_search() pages by itself: a filter applied after it would leave pages short or skip matches.
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, "customers", EveryType);
        for (var i = 1; i <= 7; i++)
        {
            await CreateAsync(host, token, "customers", new { name = $"Baker {i}", customFields = new { tier = i % 2 == 1 ? "Gold" : "Silver" } });
        }

        await CreateAsync(host, token, "customers", new { name = "Goldsmith", customFields = new { tier = "Gold" } });

        async Task<(List<string> Names, List<int> PageSizes)> WalkAsync(string query)
        {
            var names = new List<string>();
            var sizes = new List<int>();
            string? cursor = null;
            do
            {
                using var response = await host.SendAsync(HttpMethod.Get, $"/api/customers?{query}&pageSize=2{(cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}")}", token);
                response.StatusCode.Should().Be(HttpStatusCode.OK, query + ": " + await response.Content.ReadAsStringAsync());
                var page = await response.JsonAsync();
                var items = page["items"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
                names.AddRange(items);
                sizes.Add(items.Count);
                cursor = page["nextCursor"]?.GetValue<string>();
            }
            while (cursor is not null && sizes.Count < 10);

            return (names, sizes);
        }

        var shortTerm = await WalkAsync("q=ba&cf.tier=Gold&sort=name");
        var trigramTerm = await WalkAsync("q=baker&cf.tier=Gold&sort=-createdAt");
        var silver = await WalkAsync("q=baker&cf.tier=Silver&sort=name");
        var relevance = await WalkAsync("q=baker&cf.tier=Gold&sort=relevance");
        var none = await WalkAsync("q=baker&cf.active=true");

        shortTerm.Names.Should().Equal("Baker 1", "Baker 3", "Baker 5", "Baker 7");
        shortTerm.PageSizes.Should().Equal([2, 2], "every page but the last is full");
        trigramTerm.Names.Should().Equal("Baker 7", "Baker 5", "Baker 3", "Baker 1");
        silver.Names.Should().Equal("Baker 2", "Baker 4", "Baker 6");
        silver.PageSizes.Should().Equal(2, 1);
        relevance.Names.Should().BeEquivalentTo(["Baker 1", "Baker 3", "Baker 5", "Baker 7"], "Goldsmith is Gold but does not match the term");
        none.Names.Should().BeEmpty();

        using var request = ApiHost.Authorized(HttpMethod.Get, "/api/customers?q=baker&cf.tier=Silver&sort=name", token);
        request.Headers.Accept.ParseAdd("text/csv");
        using var export = await host.Client.SendAsync(request);
        export.StatusCode.Should().Be(HttpStatusCode.OK);
        var lines = (await export.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1);
        lines.Select(l => l.Split(',')[1]).Should().Equal("Baker 2", "Baker 4", "Baker 6");
    }

    [Fact]
    public async Task ContactAndDealListsFilterByTheirOwnCustomFields()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, "contacts", new { key = "role", label = "Role", type = "select", options = new[] { "CEO", "CTO" } });
        await DefineAsync(host, token, "deals", new { key = "score", label = "Score", type = "number" });
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Owner");
        await CreateAsync(host, token, "contacts", new { lastName = "Boss", customFields = new { role = "CEO" } });
        await CreateAsync(host, token, "contacts", new { lastName = "Nerd", customFields = new { role = "CTO" } });
        await CreateAsync(host, token, "deals", new { name = "Big", customerId = customer, amount = 1, currency = "EUR", customFields = new { score = 9 } });
        await CreateAsync(host, token, "deals", new { name = "Small", customerId = customer, amount = 1, currency = "EUR", customFields = new { score = 2 } });

        using var contacts = await host.SendAsync(HttpMethod.Get, "/api/contacts?cf.role=CTO", token);
        using var deals = await host.SendAsync(HttpMethod.Get, "/api/deals?cf.score=9.0&status=open", token);
        using var wrongType = await host.SendAsync(HttpMethod.Get, "/api/deals?cf.role=CEO", token);

        (await contacts.JsonAsync())["items"]!.AsArray().Select(c => c!["lastName"]!.GetValue<string>()).Should().Equal("Nerd");
        (await deals.JsonAsync())["items"]!.AsArray().Select(d => d!["name"]!.GetValue<string>()).Should().Equal("Big");
        wrongType.StatusCode.Should().Be(HttpStatusCode.BadRequest, "a contact's field is not a deal's");
    }

    [Fact]
    public async Task RemovingRetypingOrDroppingAnOptionInUseIsRefusedWithTheCountUntilTheValuesAreCleared()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, "customers", EveryType);
        var first = await CreateAsync(host, token, "customers", new { name = "One", customFields = new { industry = "Bakery", tier = "Gold" } });
        var second = await CreateAsync(host, token, "customers", new { name = "Two", customFields = new { industry = "Smithy" } });
        var withoutIndustry = EveryType.Where((_, i) => i != 0).ToArray();
        var industryAsNumber = EveryType.Select((f, i) => i == 0 ? new { key = "industry", label = "Industry", type = "number" } : f).ToArray();
        var onlySilver = EveryType.Select((f, i) => i == 3 ? new { key = "tier", label = "Tier", type = "select", options = new[] { "Silver" } } : f).ToArray();
        var onlyGold = EveryType.Select((f, i) => i == 3 ? new { key = "tier", label = "Tier", type = "select", options = new[] { "Gold" } } : f).ToArray();

        using var removed = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", token, Fields(withoutIndustry));
        using var retyped = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", token, Fields(industryAsNumber));
        using var optionDropped = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", token, Fields(onlySilver));
        using var unusedOptionDropped = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", token, Fields(onlyGold));
        var afterRefusals = await KeysAsync(host, token, "customers");
        await UpdateAsync(host, token, "customers", first, new { name = "One", customFields = new { tier = "Gold" } });
        await UpdateAsync(host, token, "customers", second, new { name = "Two" });
        using var allowed = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", token, Fields(withoutIndustry));

        removed.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await removed.ProblemAsync())["detail"]!.GetValue<string>().Should().Be("2 customers hold values of 'industry'; clear them first.");
        retyped.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await retyped.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("2 customers hold values of 'industry'");
        optionDropped.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await optionDropped.ProblemAsync())["detail"]!.GetValue<string>().Should().Be("1 customer holds the option 'Gold' of 'tier'; clear them first.");
        unusedOptionDropped.StatusCode.Should().Be(HttpStatusCode.OK, "no customer holds Silver");
        afterRefusals.Should().Equal("industry", "size", "since", "tier", "active");
        allowed.StatusCode.Should().Be(HttpStatusCode.OK, await allowed.Content.ReadAsStringAsync());
        (await KeysAsync(host, token, "customers")).Should().Equal("size", "since", "tier", "active");
    }

    [Fact]
    public async Task TheCsvExportHasOneColumnPerFieldAndKeepsTheFilters()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, "customers", EveryType);
        await CreateAsync(host, token, "customers", new { name = "Bakery", customFields = new { industry = "Bakery, \"fine\"", size = 1.25m, active = true } });
        await CreateAsync(host, token, "customers", new { name = "Smithy", customFields = new { industry = "Smithy" } });

        using var request = ApiHost.Authorized(HttpMethod.Get, "/api/customers?cf.active=true", token);
        request.Headers.Accept.ParseAdd("text/csv");
        using var export = await host.Client.SendAsync(request);
        var lines = (await export.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

        export.StatusCode.Should().Be(HttpStatusCode.OK);
        lines[0].Should().EndWith(",version,cf.industry,cf.size,cf.since,cf.tier,cf.active");
        lines.Should().HaveCount(2, "the filter applies to the export");
        lines[1].Should().StartWith(lines[1].Split(',')[0] + ",Bakery,");
        lines[1].Should().EndWith(",\"Bakery, \"\"fine\"\"\",1.25,,,true");
    }

    [Fact]
    public async Task AnImportMapsCfColumnsChecksThemByRowAndColumnAndAnUpdateReplacesOnlyTheColumnsGiven()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, "customers", [.. EveryType, new { key = "region", label = "Region", type = "text", required = true }]);
        await DefineAsync(host, token, "contacts", new { key = "role", label = "Role", type = "select", options = new[] { "CEO", "CTO" } });

        using var bad = await ImportTests.PostCsvAsync(host, "/api/imports/customers", token,
            "name,email,cf.region,cf.size,cf.tier,cf.active\nGood,good@example.com,North,1.5,Gold,true\nBad,bad@example.com,South,lots,Bronze,yes\nMissing,missing@example.com,,,,\n");
        var afterBad = await DealsTests.CountAsync(host, tenant.Id, "customers");
        using var good = await ImportTests.PostCsvAsync(host, "/api/imports/customers", token,
            "name,email,CF.Region,cf.size,cf.since\nGood,good@example.com,North,1.50,2024-02-29\nOther,other@example.com,South,,\n");
        using var update = await ImportTests.PostCsvAsync(host, "/api/imports/customers?onDuplicate=update", token,
            "name,email,cf.size,cf.tier\nGood,good@example.com,,Silver\n");
        using var contacts = await ImportTests.PostCsvAsync(host, "/api/imports/contacts", token, "lastName,cf.role\nBoss,CEO\n");
        using var list = await host.SendAsync(HttpMethod.Get, "/api/customers?sort=name", token);
        using var contactList = await host.SendAsync(HttpMethod.Get, "/api/contacts?cf.role=CEO", token);

        bad.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var errors = (await bad.JsonAsync())["errors"]!.AsArray().Select(e => $"{e!["row"]!.GetValue<int>()} {e["column"]!.GetValue<string>()}");
        errors.Should().BeEquivalentTo("3 cf.size", "3 cf.tier", "3 cf.active", "4 cf.region");
        afterBad.Should().Be(0, "nothing of a refused file is imported");
        good.StatusCode.Should().Be(HttpStatusCode.Created, await good.Content.ReadAsStringAsync());
        update.StatusCode.Should().Be(HttpStatusCode.Created, await update.Content.ReadAsStringAsync());
        contacts.StatusCode.Should().Be(HttpStatusCode.Created, await contacts.Content.ReadAsStringAsync());
        var items = (await list.JsonAsync())["items"]!.AsArray();
        items.Select(c => (c!["name"]!.GetValue<string>(), Values(c.AsObject()))).Should().Equal(
            ("Good", """{"region":"North","since":"2024-02-29","tier":"Silver"}"""),
            ("Other", """{"region":"South"}"""));
        (await contactList.JsonAsync())["items"]!.AsArray().Should().ContainSingle();
    }

    [Fact]
    public async Task StorageCountsTheKeysAndValues()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await DefineAsync(host, token, "deals", new { key = "note", label = "Note", type = "text" }, new { key = "score", label = "Score", type = "number" });
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Owner");
        var start = await DealsTests.StorageAsync(host, token);
        var plain = await CreateAsync(host, token, "deals", new { name = "Deal", customerId = customer, amount = 1, currency = "EUR" });
        var afterPlain = await DealsTests.StorageAsync(host, token);
        var valued = await CreateAsync(host, token, "deals", new { name = "Deal", customerId = customer, amount = 1, currency = "EUR", customFields = new { note = "Grüße", score = 12.50m } });
        var afterValued = await DealsTests.StorageAsync(host, token);
        await UpdateAsync(host, token, "deals", valued, new { name = "Deal", customerId = customer, amount = 1, currency = "EUR", customFields = new { score = 7 } });
        var afterUpdate = await DealsTests.StorageAsync(host, token);

        (afterValued - afterPlain).Should().Be(afterPlain - start + "note".Length + Encoding.UTF8.GetByteCount("Grüße") + "score".Length + "12.5".Length);
        (afterUpdate - afterPlain).Should().Be(afterPlain - start + "score".Length + 1);
        plain.Should().NotBe(valued);
    }

    [Fact]
    public async Task AnotherTenantsDefinitionsAreInvisibleAndDoNotApply()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        await DefineAsync(host, b.Admin.AccessToken, "customers", new { key = "secret", label = "Secret", type = "text", required = true });

        using var read = await host.SendAsync(HttpMethod.Get, "/api/custom-fields/customers", a.Admin.AccessToken);
        using var plain = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken, new { name = "No fields needed" });
        using var foreign = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken, new { name = "x", customFields = new { secret = "s" } });
        using var mine = await host.SendAsync(HttpMethod.Put, "/api/custom-fields/customers", a.Admin.AccessToken, Fields(EveryType));
        using var theirs = await host.SendAsync(HttpMethod.Get, "/api/custom-fields/customers", b.Admin.AccessToken);

        (await read.JsonAsync())["fields"]!.AsArray().Should().BeEmpty();
        plain.StatusCode.Should().Be(HttpStatusCode.Created, "B's required field is not A's");
        foreign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await foreign.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal("customFields.secret");
        mine.StatusCode.Should().Be(HttpStatusCode.OK);
        (await theirs.JsonAsync())["fields"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()).Should().Equal("secret");
    }

    private static object Fields(params object[] fields) => new { fields };

    internal static async Task DefineAsync(ApiHost host, string token, string records, params object[] fields)
    {
        using var response = await host.SendAsync(HttpMethod.Put, $"/api/custom-fields/{records}", token, Fields(fields));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static async Task<List<string>> KeysAsync(ApiHost host, string token, string records)
    {
        using var response = await host.SendAsync(HttpMethod.Get, $"/api/custom-fields/{records}", token);
        return (await response.JsonAsync())["fields"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()).ToList();
    }

    /// <summary>A valid body of <paramref name="records"/> with these custom field values.</summary>
    private static object Body(string records, string customer, object customFields) => records switch
    {
        "customers" => new { name = "Record", customFields },
        "contacts" => new { lastName = "Record", customFields },
        _ => new { name = "Record", customerId = customer, amount = 1, currency = "EUR", customFields },
    };

    private static async Task<string> CreateAsync(ApiHost host, string token, string records, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, $"/api/{records}", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task UpdateAsync(ApiHost host, string token, string records, string id, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Put, $"/api/{records}/{id}", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static string Values(JsonObject record) => record["customFields"]!.ToJsonString(new System.Text.Json.JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
