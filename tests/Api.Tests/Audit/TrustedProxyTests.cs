using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Audit;

/// <summary>Audit entries record the client's address: from X-Forwarded-For only when the connection is a trusted balancer.</summary>
public sealed class TrustedProxyTests
{
    [Fact]
    public async Task BehindATrustedBalancerTheForwardedClientAddressIsAudited()
    {
        var shared = await ApiHost.SharedAsync();
        await using var host = await ApiHost.StartAsync(shared.Database, settings: ["--Shohayota:TrustedProxies=10.9.8.7, 127.0.0.0/8"]);
        var tenant = await host.ProvisionTenantAsync();

        (await AuditedAddressAsync(host, tenant, "203.0.113.7")).Should().Be("203.0.113.7");
    }

    [Fact]
    public async Task WithoutTrustedBalancersAForwardedHeaderIsIgnored()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        (await AuditedAddressAsync(host, tenant, "203.0.113.7")).Should().Be("127.0.0.1", "anyone can send X-Forwarded-For");
    }

    [Fact]
    public async Task AMistypedTrustedProxyStopsTheStartWithAMessage()
    {
        var shared = await ApiHost.SharedAsync();
        var start = async () => await ApiHost.StartAsync(shared.Database, settings: ["--Shohayota:TrustedProxies=10.0.0.300"]);

        (await start.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*Shohayota:TrustedProxies*10.0.0.300*");
    }

    private static async Task<string?> AuditedAddressAsync(ApiHost host, TestTenant tenant, string forwardedFor)
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/test/audit", tenant.Admin.AccessToken);
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await host.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["ip"]?.GetValue<string>();
    }
}
