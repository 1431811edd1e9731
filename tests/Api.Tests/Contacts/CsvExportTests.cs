using System.Net;
using System.Net.Http.Headers;
using CsvHelper;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Contacts;

/// <summary>The list routes as CSV (<c>Accept: text/csv</c>): every matching row, RFC 4180, formula-safe, the tenant's own only.</summary>
public sealed class CsvExportTests
{
    [Fact]
    public async Task ACustomerExportStreamsEveryMatchingRowOnceWithTheirExactTextAndFormulasDefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync("enterprise");
        var other = await host.ProvisionTenantAsync();
        await ContactsTests.CreateCustomerAsync(host, other.Admin.AccessToken, "Not yours");
        var tricky = new Dictionary<string, string>
        {
            ["Comma, \"quoted\"\nand a new line"] = "Comma, \"quoted\"\nand a new line",
            ["=HYPERLINK(\"http://evil.test\")"] = "'=HYPERLINK(\"http://evil.test\")",
            ["+1 555 0100"] = "'+1 555 0100",
            ["-2+3"] = "'-2+3",
            ["@SUM(A1)"] = "'@SUM(A1)",
            ["Ünïcödé 😀"] = "Ünïcödé 😀",
        };
        var ids = new HashSet<string>();
        foreach (var name in tricky.Keys)
        {
            ids.Add(await ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, name));
        }

        // More than one of the export's pages (200 rows), through the API like a client would create them.
        await Parallel.ForEachAsync(Enumerable.Range(0, 230), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var id = await ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, $"Bulk {i:D3}");
            lock (ids)
            {
                ids.Add(id);
            }
        });

        using var response = await GetCsvAsync(host, "/api/customers", tenant.Admin.AccessToken);
        var bytes = await response.Content.ReadAsByteArrayAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");
        response.Content.Headers.ContentDisposition!.FileName!.Trim('"').Should().StartWith("customers-").And.EndWith(".csv");
        bytes.Take(3).Should().Equal([0xEF, 0xBB, 0xBF], "a UTF-8 byte order mark, so spreadsheets read the text as UTF-8");
        var rows = Read(bytes);
        rows.Select(r => r["id"]).Should().OnlyHaveUniqueItems().And.BeEquivalentTo(ids, "every row of the tenant once, and no other tenant's");
        foreach (var (name, cell) in tricky)
        {
            rows.Should().ContainSingle(r => r["name"] == cell, name);
        }

        rows.First()["status"].Should().Be("lead");
        DateTimeOffset.Parse(rows.First()["createdAt"], System.Globalization.CultureInfo.InvariantCulture).Offset.Should().Be(TimeSpan.Zero);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=customers.exported", tenant.Admin.AccessToken);
        var entry = (await audit.JsonAsync())["items"]!.AsArray().Single()!;
        entry["details"]!["rows"]!.GetValue<long>().Should().Be(ids.Count);
    }

    [Fact]
    public async Task TheListsFiltersApplyAndPagingParametersAreRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var acme = await ContactsTests.CreateCustomerAsync(host, token, "Acme");
        var globex = await ContactsTests.CreateCustomerAsync(host, token, "Globex");
        await ContactsTests.CreateContactAsync(host, token, new { firstName = "Ann", lastName = "Acme", customerId = acme, tags = new[] { "a", "b" } });
        await ContactsTests.CreateContactAsync(host, token, new { firstName = "Bob", lastName = "Acme", customerId = acme, phone = "=1+1" });
        await ContactsTests.CreateContactAsync(host, token, new { firstName = "Gil", lastName = "Globex", customerId = globex });

        using var byCustomer = await GetCsvAsync(host, $"/api/contacts?customerId={acme}&sort=name", token);
        using var paged = await GetCsvAsync(host, "/api/contacts?pageSize=10&cursor=x", token);
        using var json = await host.SendAsync(HttpMethod.Get, $"/api/contacts?customerId={acme}", token);

        var rows = Read(await byCustomer.Content.ReadAsByteArrayAsync());
        rows.Select(r => r["firstName"]).Should().Equal("Ann", "Bob");
        rows.Should().OnlyContain(r => r["customerId"] == acme);
        rows[0]["tags"].Should().Be("a;b");
        rows[1]["phone"].Should().Be("'=1+1");
        paged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await paged.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("pageSize", "cursor");
        json.Content.Headers.ContentType!.MediaType.Should().Be("application/json", "without Accept: text/csv the list stays JSON");
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
