using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using CsvHelper;
using Shohayota.Api.Tests.Contacts;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Deals;

/// <summary><c>GET /api/deals</c>: its filters, every sort paged by keyset without gaps or repeats, its parameters checked, and the CSV export.</summary>
public sealed class DealListTests
{
    [Fact]
    public async Task EachFilterSelectsExactlyTheMatchingDeals()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var member = await host.AddUserAsync(tenant);
        var (admin, memberId) = (DealsTests.UserId(tenant.Admin), DealsTests.UserId(member));
        var (acme, globex) = (await ContactsTests.CreateCustomerAsync(host, token, "Acme"), await ContactsTests.CreateCustomerAsync(host, token, "Globex"));
        var stages = await DealsTests.StagesAsync(host, token);
        var (lead, proposal, won, lost) = (stages[0].Id, stages[2].Id, stages[4].Id, stages[5].Id);
        var deals = new Dictionary<string, string>();
        async Task AddAsync(string name, string customer, string stage, string? owner, string? close) =>
            deals[(await DealsTests.CreateDealAsync(host, token,
                new { name, customerId = customer, stageId = stage, ownerUserId = owner, expectedCloseDate = close, amount = 1, currency = "EUR" }))["id"]!.GetValue<string>()] = name;
        await AddAsync("d1", acme, lead, admin, "2027-01-10");
        await AddAsync("d2", acme, won, memberId, "2027-03-01");
        await AddAsync("d3", globex, lead, null, null);
        await AddAsync("d4", globex, lost, admin, "2026-12-31");
        await AddAsync("d5", acme, proposal, memberId, "2027-01-10");
        var foreignCustomer = await ContactsTests.CreateCustomerAsync(host, other.Admin.AccessToken, "Theirs");
        await DealsTests.CreateDealAsync(host, other.Admin.AccessToken, DealsTests.Deal(foreignCustomer, "d-foreign", 1m));

        async Task<List<string>> NamesAsync(string query)
        {
            using var response = await host.SendAsync(HttpMethod.Get, $"/api/deals?{query}", token);
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            return (await response.JsonAsync())["items"]!.AsArray().Select(d => deals[d!["id"]!.GetValue<string>()]).Order(StringComparer.Ordinal).ToList();
        }

        (await NamesAsync("")).Should().Equal("d1", "d2", "d3", "d4", "d5");
        (await NamesAsync($"stageId={lead}")).Should().Equal("d1", "d3");
        (await NamesAsync("status=open")).Should().Equal("d1", "d3", "d5");
        (await NamesAsync("status=won")).Should().Equal("d2");
        (await NamesAsync("status=lost")).Should().Equal("d4");
        (await NamesAsync($"customerId={acme}")).Should().Equal("d1", "d2", "d5");
        (await NamesAsync($"ownerUserId={admin}")).Should().Equal("d1", "d4");
        (await NamesAsync("closingBefore=2027-01-10")).Should().Equal(["d4"], "strictly before, and a deal without a date is not closing before any");
        (await NamesAsync("closingBefore=2027-01-11")).Should().Equal("d1", "d4", "d5");
        (await NamesAsync($"customerId={acme}&status=open&ownerUserId={memberId}")).Should().Equal("d5");
        (await NamesAsync($"customerId={foreignCustomer}")).Should().BeEmpty();
        (await NamesAsync($"stageId={(await DealsTests.StagesAsync(host, other.Admin.AccessToken))[0].Id}")).Should().BeEmpty();
    }

    [Fact]
    public async Task TheContactFilterSelectsTheDealsTheContactIsOnAndIsRecordedInTheExport()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Acme");
        var (ada, bob) = (await ContactsTests.CreateContactAsync(host, token, new { lastName = "Ada" }), await ContactsTests.CreateContactAsync(host, token, new { lastName = "Bob" }));
        var deals = new Dictionary<string, string>();
        async Task AddAsync(string name, params string[] contactIds) =>
            deals[(await DealsTests.CreateDealAsync(host, token, new { name, customerId = customer, contactIds, amount = 1, currency = "EUR" }))["id"]!.GetValue<string>()] = name;
        await AddAsync("with Ada", ada);
        await AddAsync("with Ada and Bob", bob, ada);
        await AddAsync("with Bob", bob);
        var foreignCustomer = await ContactsTests.CreateCustomerAsync(host, other.Admin.AccessToken, "Theirs");
        var foreignContact = await ContactsTests.CreateContactAsync(host, other.Admin.AccessToken, new { lastName = "Theirs" });
        await DealsTests.CreateDealAsync(host, other.Admin.AccessToken,
            new { name = "theirs", customerId = foreignCustomer, contactIds = new[] { foreignContact }, amount = 1, currency = "EUR" });

        async Task<List<string>> NamesAsync(string query)
        {
            using var response = await host.SendAsync(HttpMethod.Get, $"/api/deals?{query}", token);
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            return (await response.JsonAsync())["items"]!.AsArray().Select(d => deals[d!["id"]!.GetValue<string>()]).Order(StringComparer.Ordinal).ToList();
        }

        (await NamesAsync($"contactId={ada}")).Should().Equal("with Ada", "with Ada and Bob");
        (await NamesAsync($"contactId={bob}&status=open")).Should().Equal("with Ada and Bob", "with Bob");
        (await NamesAsync($"contactId={ada}&pageSize=1")).Should().ContainSingle();
        (await NamesAsync($"contactId={foreignContact}")).Should().BeEmpty("another tenant's contact is on none of the caller's deals");
        (await NamesAsync($"contactId={Guid.NewGuid()}")).Should().BeEmpty();

        using var invalid = await host.SendAsync(HttpMethod.Get, "/api/deals?contactId=x", token);
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await invalid.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal("contactId");

        using var csv = await GetCsvAsync(host, $"/api/deals?contactId={ada}", token);
        Read(await csv.Content.ReadAsByteArrayAsync()).Select(r => r["name"]).Should().BeEquivalentTo("with Ada", "with Ada and Bob");
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=deals.exported", token);
        (await audit.JsonAsync())["items"]!.AsArray().Single()!["details"]!["filters"]!["contactId"]!.GetValue<string>().Should().Be(ada);
    }

    public static TheoryData<string> Sorts => ["createdAt", "-createdAt", "updatedAt", "-updatedAt", "expectedCloseDate", "-expectedCloseDate", "amount", "-amount"];

    [Theory]
    [MemberData(nameof(Sorts))]
    public async Task EachSortPagesEveryDealOnceInItsOrder(string sort)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Paged");
        // Equal amounts, equal dates and no dates: the id breaks every tie, so no row is skipped or repeated between pages.
        decimal[] amounts = [5m, 5m, 5m, 1m, 10m, 10m, 0m, 5m, 2.5m, 5m];
        string?[] dates = [null, "2027-01-01", "2027-01-01", null, "2026-06-30", "2027-01-01", null, "2028-01-01", "2026-06-30", null];
        var ids = new List<string>();
        for (var i = 0; i < amounts.Length; i++)
        {
            ids.Add((await DealsTests.CreateDealAsync(host, token,
                new { name = $"p{i}", customerId = customer, amount = amounts[i], currency = "EUR", expectedCloseDate = dates[i] }))["id"]!.GetValue<string>());
        }

        foreach (var i in new[] { 6, 0, 3 })
        {
            await DealsTests.UpdateAsync(host, token, ids[i], new { name = $"p{i} updated", customerId = customer, amount = amounts[i], currency = "EUR", expectedCloseDate = dates[i] });
        }

        var rows = new List<JsonNode>();
        var pages = 0;
        string? cursor = null;
        do
        {
            using var page = await host.SendAsync(HttpMethod.Get, $"/api/deals?sort={Uri.EscapeDataString(sort)}&pageSize=3{(cursor is null ? "" : $"&cursor={cursor}")}", token);
            page.StatusCode.Should().Be(HttpStatusCode.OK, await page.Content.ReadAsStringAsync());
            var json = await page.JsonAsync();
            rows.AddRange(json["items"]!.AsArray().Select(d => d!));
            cursor = json["nextCursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null);

        var key = sort.TrimStart('-');
        IComparable Key(JsonNode d) => key switch
        {
            "amount" => d["amount"]!.GetValue<decimal>(),
            "expectedCloseDate" => d["expectedCloseDate"] is { } date ? DateOnly.Parse(date.GetValue<string>(), CultureInfo.InvariantCulture) : DateOnly.MaxValue,
            _ => d[key]!.GetValue<DateTimeOffset>(),
        };
        var expected = sort.StartsWith('-')
            ? rows.OrderByDescending(Key).ThenByDescending(d => d["id"]!.GetValue<string>(), StringComparer.Ordinal)
            : rows.OrderBy(Key).ThenBy(d => d["id"]!.GetValue<string>(), StringComparer.Ordinal);
        var got = rows.Select(d => d["id"]!.GetValue<string>()).ToList();
        got.Should().OnlyHaveUniqueItems().And.BeEquivalentTo(ids);
        got.Should().Equal(expected.Select(d => d["id"]!.GetValue<string>()), "the pages follow {0}, ties by id", sort);
        pages.Should().Be(4);
        if (key == "expectedCloseDate")
        {
            var undated = rows.Select((d, i) => (d, i)).Where(p => p.d["expectedCloseDate"] is null).Select(p => p.i).ToList();
            undated.Should().Equal(sort.StartsWith('-') ? [0, 1, 2, 3] : [6, 7, 8, 9], "deals without a date come last ascending, first descending");
        }
    }

    [Fact]
    public async Task UnknownRepeatedAndInvalidParametersAreRefusedEachNamed()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Params");
        for (var i = 0; i < 3; i++)
        {
            await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, $"q{i}", i));
        }

        using var first = await host.SendAsync(HttpMethod.Get, "/api/deals?sort=amount&pageSize=1", token);
        var cursor = (await first.JsonAsync())["nextCursor"]!.GetValue<string>();

        using var invalid = await host.SendAsync(HttpMethod.Get,
            "/api/deals?colour=red&pageSize=201&cursor=nope&customerId=x&stageId=y&ownerUserId=z&status=closed&closingBefore=2027-13-01&sort=name", token);
        using var repeated = await host.SendAsync(HttpMethod.Get, "/api/deals?status=open&status=won", token);
        using var zero = await host.SendAsync(HttpMethod.Get, "/api/deals?pageSize=0", token);
        using var otherSort = await host.SendAsync(HttpMethod.Get, $"/api/deals?sort=-amount&cursor={cursor}", token);
        using var tampered = await host.SendAsync(HttpMethod.Get, $"/api/deals?sort=amount&cursor={cursor[..^2]}", token);
        using var pipeline = await host.SendAsync(HttpMethod.Get, "/api/pipeline?tenantId=" + Guid.NewGuid(), token);
        using var next = await host.SendAsync(HttpMethod.Get, $"/api/deals?sort=amount&pageSize=1&cursor={cursor}", token);

        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await invalid.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should()
            .BeEquivalentTo("colour", "pageSize", "cursor", "customerId", "stageId", "ownerUserId", "status", "closingBefore", "sort");
        repeated.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await repeated.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().Equal("status");
        zero.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        otherSort.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await otherSort.JsonAsync())["errors"]!["cursor"]![0]!.GetValue<string>().Should().Contain("another sort");
        tampered.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        pipeline.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the pipeline is the caller's tenant's, no parameter picks another");
        (await next.JsonAsync())["items"]!.AsArray().Single()!["amount"]!.GetValue<decimal>().Should().Be(1m);
    }

    [Fact]
    public async Task ACsvExportStreamsEveryMatchingDealOnceWithItsExactAmountAndIsAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync("enterprise");
        var other = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var foreignCustomer = await ContactsTests.CreateCustomerAsync(host, other.Admin.AccessToken, "Not yours");
        await DealsTests.CreateDealAsync(host, other.Admin.AccessToken, DealsTests.Deal(foreignCustomer, "Not yours", 1m));
        var customer = await ContactsTests.CreateCustomerAsync(host, token, "Exported");
        var elsewhere = await ContactsTests.CreateCustomerAsync(host, token, "Elsewhere");
        var contacts = new[]
        {
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "C1" }),
            await ContactsTests.CreateContactAsync(host, token, new { lastName = "C2" }),
        };
        var special = await DealsTests.CreateDealAsync(host, token, new
        {
            name = "=HYPERLINK(\"http://evil.test\")", customerId = customer, contactIds = contacts, amount = 1234.5678m, currency = "EUR",
            expectedCloseDate = "2027-05-01",
        });
        var expected = new Dictionary<string, decimal> { [special["id"]!.GetValue<string>()] = 1234.5678m };
        // More than one of the export's pages (200 rows), through the API like a client would create them.
        await Parallel.ForEachAsync(Enumerable.Range(1, 205), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var amount = i + i / 10_000m;
            var id = (await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(customer, $"Bulk {i:D3}", amount, currency: "USD")))["id"]!.GetValue<string>();
            lock (expected)
            {
                expected[id] = amount;
            }
        });
        await DealsTests.CreateDealAsync(host, token, DealsTests.Deal(elsewhere, "Other customer", 3m));

        using var response = await GetCsvAsync(host, $"/api/deals?customerId={customer}", token);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        using var paged = await GetCsvAsync(host, "/api/deals?pageSize=10&cursor=x", token);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=deals.exported", token);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");
        response.Content.Headers.ContentDisposition!.FileName!.Trim('"').Should().StartWith("deals-").And.EndWith(".csv");
        var rows = Read(bytes);
        rows.Select(r => r["id"]).Should().OnlyHaveUniqueItems().And.BeEquivalentTo(expected.Keys, "every matching deal of the tenant once, no other");
        rows.Should().OnlyContain(r => decimal.Parse(r["amount"], CultureInfo.InvariantCulture) == expected[r["id"]] && r["customerId"] == customer);
        var first = rows.Single(r => r["id"] == special["id"]!.GetValue<string>());
        first["amount"].Should().Be("1234.5678");
        first["name"].Should().Be("'=HYPERLINK(\"http://evil.test\")", "a formula is defused");
        first["contactIds"].Split(';').Should().BeEquivalentTo(contacts);
        first["status"].Should().Be("open");
        first["expectedCloseDate"].Should().Be("2027-05-01");
        rows.Single(r => r["name"] == "Bulk 007")["amount"].Should().Be("7.0007");
        paged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await paged.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("pageSize", "cursor");
        var entry = (await audit.JsonAsync())["items"]!.AsArray().Single()!;
        entry["details"]!["rows"]!.GetValue<long>().Should().Be(expected.Count);
        entry["details"]!["filters"]!["customerId"]!.GetValue<string>().Should().Be(customer);
    }

    private static async Task<HttpResponseMessage> GetCsvAsync(ApiHost host, string path, string token)
    {
        using var request = ApiHost.Authorized(HttpMethod.Get, path, token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        return await host.Client.SendAsync(request);
    }

    /// <summary>The records as header → value, read with the same CSV library (RFC 4180 quoting undone).</summary>
    private static List<Dictionary<string, string>> Read(byte[] bytes)
    {
        var start = bytes.AsSpan().StartsWith((byte[])[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        using var reader = CsvReader.Create(bytes[start..], new CsvReaderOptions());
        var rows = new List<Dictionary<string, string>>();
        while (reader.Read())
        {
            rows.Add(reader.Headers.Select((h, i) => (h, i)).ToDictionary(p => p.h, p => reader.GetString(p.i)));
        }

        return rows;
    }
}
