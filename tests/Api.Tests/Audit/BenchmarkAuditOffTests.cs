using System.Net;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;

namespace Shohayota.Api.Tests.Audit;

/// <summary>The benchmark-only <c>Shohayota:Benchmark:AuditOff</c> switch (bench S8): off by default, and when on it removes exactly the customer entries.</summary>
public sealed class BenchmarkAuditOffTests
{
    [Theory]
    [InlineData(false, 4)]
    [InlineData(true, 0)]
    public async Task CustomerWritesAreAuditedUnlessTheBenchmarkOnlySwitchIsOn(bool auditOff, int customerEntries)
    {
        await using var own = auditOff ? await ApiHost.StartAsync(settings: ["--environment=Benchmark", "--Shohayota:Benchmark:AuditOff=true"]) : null;
        var host = own ?? await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;

        var kept = await CreateAsync(host, token, "Kept");
        var removed = await CreateAsync(host, token, "Removed");
        using var update = await host.SendAsync(HttpMethod.Put, $"/api/customers/{kept}", token, new { name = "Kept, renamed" });
        using var delete = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{removed}", token);
        using var refused = await host.SendAsync(HttpMethod.Post, "/api/customers", token,
            new { name = "x", ownerUserId = other.Admin.Body["user"]!["id"]!.GetValue<string>() });

        update.StatusCode.Should().Be(HttpStatusCode.OK);
        delete.StatusCode.Should().Be(HttpStatusCode.NoContent);
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await CountAsync(host, "SELECT count(*) FROM customers WHERE tenant_id = $1 AND name = 'Kept, renamed'", tenant.Id)).Should().Be(1);
        (await CountAsync(host, "SELECT count(*) FROM customers WHERE tenant_id = $1", tenant.Id)).Should().Be(1);
        (await QuotasTests.QuotasAsync(host, token))["quotas"]!["customers"]!["used"]!.GetValue<long>().Should().Be(1);
        (await CountAsync(host, "SELECT count(*) FROM audit_logs WHERE tenant_id = $1 AND action LIKE 'customer.%'", tenant.Id)).Should().Be(customerEntries);
        (await CountAsync(host, "SELECT count(*) FROM audit_logs WHERE tenant_id = $1 AND action = 'tenant.provisioned'", tenant.Id)).Should().Be(1);
    }

    private static async Task<string> CreateAsync(ApiHost host, string token, string name)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", token, new { name });
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task<long> CountAsync(ApiHost host, string sql, Guid tenantId)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(sql, connection);
        count.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
