using System.Diagnostics;
using System.Net;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Audit;

/// <summary>When the tenant's audit writer cannot commit, the request fails fast with 503, not after a grain-call timeout.</summary>
public sealed class AuditUnavailableTests
{
    [Fact]
    public async Task AWriteWhoseAuditChainKeepsMovingAnswers503AtOnce()
    {
        // A host of its own: the failing audit writes turn this node's audit-writer health unhealthy until its next
        // successful write, which the shared host's health test (run in parallel) would see as a 503.
        await using var host = await ApiHost.StartAsync(await TestDatabase.SharedAsync());
        var tenant = await host.ProvisionTenantAsync();
        var name = $"test_chain_moves_{tenant.Id:N}";
        // Every insert into this tenant's chain meets a "taken seq", as if another writer always got there first.
        await host.Database.ExecuteDdlAsync($"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'seq taken' USING ERRCODE = 'unique_violation', CONSTRAINT = 'audit_logs_pkey'; END $$;
            CREATE TRIGGER {name} BEFORE INSERT ON audit_logs FOR EACH ROW WHEN (NEW.tenant_id = '{tenant.Id:D}') EXECUTE FUNCTION {name}();
            """);
        try
        {
            var started = Stopwatch.GetTimestamp();

            using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Never written" });

            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            (await response.JsonAsync())["type"]!.GetValue<string>().Should().EndWith("/service-unavailable");
            // Orleans' response timeout is 30 s: an abandoned caller would only get its 503 then.
            Stopwatch.GetElapsedTime(started).Should().BeLessThan(TimeSpan.FromSeconds(20));
        }
        finally
        {
            await host.Database.ExecuteDdlAsync($"DROP TRIGGER {name} ON audit_logs; DROP FUNCTION {name}();");
        }
    }
}
