using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Customers;

/// <summary>GET /api/customers?q=: substrings, short terms by prefix, filters and sorts with it, relevance, the timeout.</summary>
public sealed class CustomerSearchTests
{
    [Fact]
    public async Task ATermOfThreeOrMoreCharactersMatchesAnySubstringOfNameEmailOrCompanyIgnoringCase()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await SeedPeopleAsync(host);

        (await CustomerListTests.NamesAsync(host, tenant, "q=OPPE")).Should().BeEquivalentTo("Grace Hopper");
        (await CustomerListTests.NamesAsync(host, tenant, "q=@navy.m")).Should().BeEquivalentTo("Grace Hopper");
        (await CustomerListTests.NamesAsync(host, tenant, "q=tchl")).Should().BeEquivalentTo("Alan Turing");
        (await CustomerListTests.NamesAsync(host, tenant, "q=LOBAL")).Should().BeEquivalentTo("Ngozi Okafor");
        (await CustomerListTests.NamesAsync(host, tenant, "q=zzz")).Should().BeEmpty();
    }

    [Fact]
    public async Task ATermOfOneOrTwoCharactersMatchesNamesEmailsAndCompaniesThatStartWithIt()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await SeedPeopleAsync(host);

        (await CustomerListTests.NamesAsync(host, tenant, "q=gr")).Should().BeEquivalentTo("Grace Hopper");
        (await CustomerListTests.NamesAsync(host, tenant, "q=GC")).Should().BeEquivalentTo("Alan Turing");
        (await CustomerListTests.NamesAsync(host, tenant, "q=gl")).Should().BeEquivalentTo("Ngozi Okafor");
        (await CustomerListTests.NamesAsync(host, tenant, "q=n")).Should().BeEquivalentTo("Grace Hopper", "Ngozi Okafor");
        (await CustomerListTests.NamesAsync(host, tenant, "q=bl")).Should().BeEmpty("bletchley is inside an address, not at its start");
        (await CustomerListTests.NamesAsync(host, tenant, "q=%25")).Should().BeEmpty("% is matched literally");
    }

    [Theory]
    [InlineData("initech")]
    [InlineData("in")]
    public async Task SearchCombinesWithStatusTagAndOwnerAndEveryCursorWalksEachMatchOnce(string term)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var owner = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        var expected = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            var name = $"Initech Person {(char)('a' + (i * 5 % 9))}";
            var lead = i % 3 != 0;
            await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken,
                new { name, company = "Initech", status = lead ? "lead" : "customer", tags = new[] { "vip" }, ownerUserId = owner });
            if (lead)
            {
                expected.Add(name);
            }
        }

        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Initech Other Tag", company = "Initech", status = "lead", tags = new[] { "cold" }, ownerUserId = owner });
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Initech No Owner", company = "Initech", status = "lead", tags = new[] { "vip" } });
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Unrelated", status = "lead", tags = new[] { "vip" }, ownerUserId = owner });

        foreach (var sort in new[] { "name", "-name", "createdAt", "-createdAt", "updatedAt", "-updatedAt", "relevance" })
        {
            var seen = await CustomerListTests.WalkAsync(host, tenant.Admin.AccessToken, $"q={term}&status=lead&tag=vip&ownerUserId={owner}&sort={sort}&pageSize=2");

            seen.Select(c => c["id"]!.GetValue<string>()).Should().OnlyHaveUniqueItems(sort);
            seen.Select(c => c["name"]!.GetValue<string>()).Should().BeEquivalentTo(expected, sort);
            if (sort is "name" or "-name")
            {
                var names = seen.Select(c => c["name"]!.GetValue<string>()).ToList();
                names.Should().Equal(sort == "name" ? names.Order(StringComparer.Ordinal) : names.OrderDescending(StringComparer.Ordinal));
            }
        }
    }

    [Fact]
    public async Task RelevanceOrdersTheMostSimilarFirstThenByIdAndItsCursorWalksEveryMatchOnce()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var exact = await CustomersTests.CreateAsync(host, token, new { name = "Lovelace" });
        var far = await CustomersTests.CreateAsync(host, token, new { name = "Augusta Ada King Lovelace", company = "Analytical Engines Limited" });
        var ties = new[]
        {
            await CustomersTests.CreateAsync(host, token, new { name = "Ada Lovelace" }),
            await CustomersTests.CreateAsync(host, token, new { name = "Ada Lovelace" }),
            await CustomersTests.CreateAsync(host, token, new { name = "Ada Lovelace" }),
        };
        await CustomersTests.CreateAsync(host, token, new { name = "Charles Babbage" });

        var walked = await CustomerListTests.WalkAsync(host, token, "q=lovelace&sort=relevance&pageSize=1");

        walked.Select(c => c["id"]!.GetValue<string>()).Should().Equal(
            [exact, .. ties.Order(StringComparer.Ordinal), far]);
    }

    [Theory]
    [InlineData("-createdAt")]
    [InlineData("relevance")]
    public async Task NoTermLongOrShortFindsAnotherTenantsCustomers(string sort)
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var unique = "zx" + Guid.NewGuid().ToString("N")[..10];
        await CustomersTests.CreateAsync(host, b.Admin.AccessToken, new { name = unique, email = $"{unique}@b.test", company = unique });

        var longFromA = await CustomerListTests.NamesAsync(host, a, $"q={unique}&sort={sort}");
        var shortFromA = await CustomerListTests.NamesAsync(host, a, $"q=zx&sort={sort}");
        var shortFromB = await CustomerListTests.NamesAsync(host, b, $"q=zx&sort={sort}");

        longFromA.Should().BeEmpty();
        shortFromA.Should().BeEmpty();
        shortFromB.Should().Equal(unique);
    }

    [Fact]
    public async Task RelevanceWithoutASearchTermIs400()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/customers?sort=relevance", tenant.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("validation"));
        problem["errors"]!["sort"].Should().NotBeNull();
    }

    [Fact]
    public async Task ASearchThatOutlivesItsStatementTimeoutAnswers503SearchTimeoutWithRetryAfter()
    {
        var shared = await ApiHost.SharedAsync();
        await using var host = await ApiHost.StartAsync(shared.Database, settings: ["--Shohayota:Search:StatementTimeout=00:00:00.001"]);
        var tenant = await host.ProvisionTenantAsync();
        await BulkInsertAsync(host, tenant.Id, 20_000);

        // Relevance scores every match before the first row can be returned: 20,000 similarities take far more than 1 ms.
        using var response = await host.SendAsync(HttpMethod.Get, "/api/customers?q=customer&sort=relevance", tenant.Admin.AccessToken);
        using var list = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=1", tenant.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await response.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("search-timeout"));
        response.Headers.RetryAfter?.Delta.Should().Be(TimeSpan.FromSeconds(5));
        list.StatusCode.Should().Be(HttpStatusCode.OK, "a list without a term has no search timeout, and the connection went back to the pool healthy");
    }

    /// <summary>Rows as bench/Load seeds them, straight into the table as the superuser (RLS does not apply to it).</summary>
    internal static async Task BulkInsertAsync(ApiHost host, Guid tenantId, int count)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, email, company, status, tags, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(), 'Customer ' || g, 'customer' || g || '@bulk.test', 'Globex ' || (g % 997), 'lead', '{}',
                   now() - g * interval '1 second', now() - g * interval '1 second', 1
            FROM generate_series(1, $2) AS g
            """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        insert.Parameters.Add(new NpgsqlParameter { Value = count });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task<TestTenant> SeedPeopleAsync(ApiHost host)
    {
        var tenant = await host.ProvisionTenantAsync();
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Grace Hopper", email = "grace@navy.mil", company = "Navy" });
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Alan Turing", email = "alan@bletchley.uk", company = "GCHQ" });
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Ngozi Okafor", company = "Global Trade" });
        return tenant;
    }
}
