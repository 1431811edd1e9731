using System.Net;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Customers;

public sealed class CustomerListTests
{
    [Fact]
    public async Task KeysetPagingWalksEveryCustomerOnceInEachSortOrder()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var names = new[] { "delta", "Alpha", "charlie", "Bravo", "echo", "alpha", "Écho" };
        foreach (var name in names)
        {
            await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name });
        }

        foreach (var sort in new[] { "name", "-name", "createdAt", "-createdAt", "updatedAt", "-updatedAt" })
        {
            var seen = await WalkAsync(host, tenant.Admin.AccessToken, $"sort={sort}&pageSize=2");

            seen.Select(c => c["name"]!.GetValue<string>()).Should().BeEquivalentTo(names, sort);
            seen.Select(c => c["id"]!.GetValue<string>()).Should().OnlyHaveUniqueItems(sort);
        }

        var byName = await WalkAsync(host, tenant.Admin.AccessToken, "sort=name&pageSize=3");
        byName.Select(c => c["name"]!.GetValue<string>()[..1].ToLowerInvariant()).Take(2).Should().AllBe("a");
    }

    [Fact]
    public async Task SearchAndFiltersNarrowTheList()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var owner = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Grace Hopper", company = "Navy", tags = new[] { "cobol" }, status = "customer" });
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Alan", email = "alan@HOPPER.test", ownerUserId = owner });
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "100% real_name" });

        (await NamesAsync(host, tenant, "q=hopper")).Should().BeEquivalentTo("Grace Hopper", "Alan");
        (await NamesAsync(host, tenant, "q=NAVY")).Should().BeEquivalentTo("Grace Hopper");
        (await NamesAsync(host, tenant, "q=0%25 r")).Should().BeEquivalentTo("100% real_name");
        (await NamesAsync(host, tenant, "q=e_l")).Should().BeEmpty();
        (await NamesAsync(host, tenant, "status=customer")).Should().BeEquivalentTo("Grace Hopper");
        (await NamesAsync(host, tenant, "tag=cobol")).Should().BeEquivalentTo("Grace Hopper");
        (await NamesAsync(host, tenant, $"ownerUserId={owner}")).Should().BeEquivalentTo("Alan");
    }

    [Fact]
    public async Task SearchNeverFindsAnotherTenantsCustomers()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var unique = "zq" + Guid.NewGuid().ToString("N")[..10];
        await CustomersTests.CreateAsync(host, b.Admin.AccessToken, new { name = unique });

        var fromA = await NamesAsync(host, a, $"q={unique}");
        var fromB = await NamesAsync(host, b, $"q={unique}");

        fromA.Should().BeEmpty();
        fromB.Should().Equal(unique);
    }

    [Theory]
    [InlineData("pageSize=0")]
    [InlineData("pageSize=201")]
    [InlineData("pageSize=ten")]
    [InlineData("sort=email")]
    [InlineData("status=vip")]
    [InlineData("ownerUserId=bob")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("color=red")]
    [InlineData("pageSize=5&pageSize=6")]
    public async Task InvalidParametersAre400NeverIgnored(string query)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/customers?{query}", tenant.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ProblemTypeAsync()).Should().EndWith("/validation");
    }

    [Fact]
    public async Task ACursorFromAnotherSortOrderIsRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "One" });
        await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Two" });
        using var first = await host.SendAsync(HttpMethod.Get, "/api/customers?sort=name&pageSize=1", tenant.Admin.AccessToken);
        var cursor = (await first.JsonAsync())["nextCursor"]!.GetValue<string>();

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/customers?sort=createdAt&cursor={cursor}", tenant.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    internal static async Task<List<JsonNode>> WalkAsync(ApiHost host, string token, string query)
    {
        var seen = new List<JsonNode>();
        string? cursor = null;
        do
        {
            using var response = await host.SendAsync(HttpMethod.Get, $"/api/customers?{query}{(cursor is null ? "" : "&cursor=" + cursor)}", token);
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var page = await response.JsonAsync();
            seen.AddRange(page["items"]!.AsArray().Select(i => i!));
            cursor = page["nextCursor"]?.GetValue<string>();
            seen.Count.Should().BeLessThan(100);
        }
        while (cursor is not null);

        return seen;
    }

    internal static async Task<IEnumerable<string>> NamesAsync(ApiHost host, TestTenant tenant, string query) =>
        (await WalkAsync(host, tenant.Admin.AccessToken, query)).Select(c => c["name"]!.GetValue<string>());
}
