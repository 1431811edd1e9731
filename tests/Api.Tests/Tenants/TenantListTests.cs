using System.Net;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Tenants;

/// <summary>Each test names its tenants with a marker of its own and filters on it (q), so other tests' tenants never show.</summary>
public sealed class TenantListTests
{
    [Fact]
    public async Task ListFiltersByStatusPlanAndName()
    {
        var host = await ApiHost.SharedAsync();
        var marker = Marker();
        var free = await host.ProvisionIdAsync(TenantBody.New($"{marker} Free", "free"));
        var pro = await host.ProvisionIdAsync(TenantBody.New($"{marker} Pro", "pro"));
        var suspended = await host.ProvisionIdAsync(TenantBody.New($"{marker} Suspended", "pro"));
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{suspended}/suspend")).EnsureSuccessStatusCode().Dispose();

        var byName = await IdsAsync(host, $"q={marker.ToUpperInvariant()}");
        var byPlan = await IdsAsync(host, $"q={marker}&plan=pro");
        var byStatus = await IdsAsync(host, $"q={marker}&status=suspended");
        var active = await IdsAsync(host, $"q={marker}&status=active&plan=pro");
        var none = await IdsAsync(host, $"q={marker}&plan=enterprise");

        byName.Should().BeEquivalentTo([free, pro, suspended]);
        byPlan.Should().BeEquivalentTo([pro, suspended]);
        byStatus.Should().Equal(suspended);
        active.Should().Equal(pro);
        none.Should().BeEmpty();
    }

    [Fact]
    public async Task PageSize1WalksThroughEveryTenantOnce()
    {
        var host = await ApiHost.SharedAsync();
        var marker = Marker();
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await host.ProvisionIdAsync(TenantBody.New($"{marker} {i}")));
        }

        var seen = new List<Guid>();
        var pages = 0;
        string? cursor = null;
        do
        {
            using var response = await host.AdminTenantsAsync(HttpMethod.Get, $"?q={marker}&pageSize=1" + (cursor is null ? "" : $"&cursor={cursor}"));
            response.EnsureSuccessStatusCode();
            var page = await response.JsonAsync();
            seen.AddRange(page["items"]!.AsArray().Select(t => t!["id"]!.GetValue<Guid>()));
            cursor = page["nextCursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null && pages < 10);

        seen.Should().BeEquivalentTo(ids).And.OnlyHaveUniqueItems();
        pages.Should().Be(3);
    }

    [Theory]
    [InlineData("status=archived", "status")]
    [InlineData("status=ACTIVE", "status")]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=201", "pageSize")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("status=archived&pageSize=0&cursor=x", "status", "pageSize", "cursor")]
    public async Task ListRefusesInvalidParametersWith400(string query, params string[] fields)
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.AdminTenantsAsync(HttpMethod.Get, "?" + query);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("validation"));
        problem["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo(fields);
    }

    [Fact]
    public async Task ANonNumericPageSizeIs400()
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.AdminTenantsAsync(HttpMethod.Get, "?pageSize=ten");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ProblemAsync())["status"]!.GetValue<int>().Should().Be(400);
    }

    private static string Marker() => "list" + Guid.NewGuid().ToString("N")[..12];

    private static async Task<List<Guid>> IdsAsync(ApiHost host, string query)
    {
        using var response = await host.AdminTenantsAsync(HttpMethod.Get, "?" + query);
        response.EnsureSuccessStatusCode();
        return [.. (await response.JsonAsync())["items"]!.AsArray().Select(t => t!["id"]!.GetValue<Guid>())];
    }
}
