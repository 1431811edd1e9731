using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Api.Metrics;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;

namespace Shohayota.Api.Tests.Audit;

/// <summary>Traffic over the limit is counted, not written to the log; refusals by quota and another tenant's ids still are, one row each.</summary>
public sealed class RateLimitedAuditTests
{
    [Fact]
    public async Task A429IsCountedAndWritesNoAuditRowWhileA403AndA404StillDo()
    {
        var host = await ApiHost.SharedAsync();
        var noisy = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        await QuotasTests.OverrideAsync(host, noisy.Id, new { rateLimitPerSecond = 1 });

        var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var response = await host.SendAsync(HttpMethod.Get, "/api/users", noisy.Admin.AccessToken);
            return response.StatusCode;
        }));

        using var missing = await host.SendAsync(HttpMethod.Get, $"/api/customers/{Guid.NewGuid()}", other.Admin.AccessToken);
        var used = (await QuotasTests.QuotasAsync(host, other.Admin.AccessToken))["quotas"]!["apiCallsMonthly"]!["used"]!.GetValue<long>();
        await QuotasTests.OverrideAsync(host, other.Id, new { apiCallsMonthly = used });
        using var forbidden = await host.SendAsync(HttpMethod.Get, "/api/users", other.Admin.AccessToken);
        var limited = statuses.Count(s => s == HttpStatusCode.TooManyRequests);
        // Metering wraps the audit middleware: once it has counted every 429, the audit step of each has finished.
        var counted = await EventuallyAsync(() => host.Services.GetRequiredService<TrafficAggregator>().TooManyRequestsByTenant.GetValueOrDefault(noisy.Id) == limited);
        var audited = await EventuallyAsync(async () => (await DeniedStatusesAsync(host, other.Id)).Count == 2);

        limited.Should().BeGreaterThan(0);
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        forbidden.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        counted.Should().BeTrue("each 429 is counted per tenant");
        (await DeniedStatusesAsync(host, noisy.Id)).Should().BeEmpty("a 429 is counted, not audited");
        audited.Should().BeTrue();
        (await DeniedStatusesAsync(host, other.Id)).Should().Equal(404, 403);
    }

    [Fact]
    public async Task ARolePolicysRefusalIsAuditedLikeAnEndpointsRefusal()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        using var refused = await host.SendAsync(HttpMethod.Get, "/api/users", member.AccessToken);

        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden, "listing users is for tenant admins");
        (await EventuallyAsync(async () => (await DeniedStatusesAsync(host, tenant.Id)).Count == 1)).Should().BeTrue(
            "a 403 from a role policy is an authorization failure and stays individually audited");
        (await DeniedStatusesAsync(host, tenant.Id)).Should().Equal(403);
    }

    private static Task<bool> EventuallyAsync(Func<bool> condition) => EventuallyAsync(() => Task.FromResult(condition()));

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private static async Task<List<int>> DeniedStatusesAsync(ApiHost host, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            "SELECT (details::jsonb ->> 'status')::int FROM audit_logs WHERE tenant_id = $1 AND action = 'request.denied' ORDER BY seq", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = tenant });
        var statuses = new List<int>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            statuses.Add(reader.GetInt32(0));
        }

        return statuses;
    }
}
