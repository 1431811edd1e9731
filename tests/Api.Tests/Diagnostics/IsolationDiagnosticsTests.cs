using System.Net;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Diagnostics;

public sealed class IsolationDiagnosticsTests
{
    [Fact]
    public async Task TheReportShowsEveryTenantTableProtectedAndAPassingLiveProbe()
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/admin/diagnostics/isolation/probe", await host.SuperAdminTokenAsync());

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.JsonAsync();
        body["healthy"]!.GetValue<bool>().Should().BeTrue();
        var tables = body["tables"]!.AsArray();
        tables.Select(t => t!["table"]!.GetValue<string>()).Should().Contain(["customers", "users", "refresh_tokens"]);
        tables.Should().AllSatisfy(t => t!["protected"]!.GetValue<bool>().Should().BeTrue());
        body["runtimeRole"]!["canBypassRls"]!.GetValue<bool>().Should().BeFalse();
        body["probe"]!["foreignRowsSeen"]!.GetValue<long>().Should().Be(0);
        body["probe"]!["checks"]!.AsArray().Select(c => c!["layer"]!.GetValue<string>()).Should().Contain(["grain", "database"]);
    }

    [Fact]
    public async Task TenantUsersCannotReadTheReport()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/admin/diagnostics/isolation", tenant.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task WhenRowLevelSecurityIsSwitchedOffTheProbeSeesForeignRowsAndHealthTurnsUnhealthy()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database);
        var token = await host.SuperAdminTokenAsync();
        using (var healthy = await host.SendAsync(HttpMethod.Post, "/api/admin/diagnostics/isolation/probe", token))
        {
            (await healthy.JsonAsync())["healthy"]!.GetValue<bool>().Should().BeTrue();
        }

        await using (var connection = new NpgsqlConnection(database.SuperuserConnectionString))
        {
            await connection.OpenAsync();
            await using var disable = new NpgsqlCommand("ALTER TABLE customers DISABLE ROW LEVEL SECURITY", connection);
            await disable.ExecuteNonQueryAsync();
        }

        using var report = await host.SendAsync(HttpMethod.Post, "/api/admin/diagnostics/isolation/probe", token);
        using var health = await host.Client.GetAsync("/api/health");

        var body = await report.JsonAsync();
        body["healthy"]!.GetValue<bool>().Should().BeFalse();
        body["probe"]!["foreignRowsSeen"]!.GetValue<long>().Should().BePositive();
        health.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        var checks = (await health.JsonAsync())["checks"]!;
        checks["isolation"]!["status"]!.GetValue<string>().Should().Be("unhealthy");
    }
}
