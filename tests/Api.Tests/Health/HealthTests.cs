using System.Net;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Health;

public sealed class HealthTests
{
    [Fact]
    public async Task HealthIsHealthyWithoutAuthenticationAndRevealsNoConnectionString()
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.Client.GetAsync("/api/health");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var text = await response.Content.ReadAsStringAsync();
        var body = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        body["status"]!.GetValue<string>().Should().Be("healthy");
        body["checks"]!["database"]!["status"]!.GetValue<string>().Should().Be("healthy");
        body["checks"]!["cluster"]!["status"]!.GetValue<string>().Should().Be("healthy");
        text.Should().NotContainAny("Password", "password", host.Database.Directory, "Host=");
    }

    [Fact]
    public async Task AuditWriterTurnsUnhealthyWhenEntriesCannotBeWrittenAndRecovers()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database);
        var token = await host.SuperAdminTokenAsync();

        await database.Managed!.KillAsync();
        using var refused = await host.SendAsync(HttpMethod.Post, "/api/test/audit", token);
        using var down = await host.Client.GetAsync("/api/health");
        await database.Managed.RestartAsync();
        using var written = await host.SendAsync(HttpMethod.Post, "/api/test/audit", token);
        using var up = await host.Client.GetAsync("/api/health");

        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        var audit = System.Text.Json.Nodes.JsonNode.Parse(await down.Content.ReadAsStringAsync())!["checks"]!["audit"]!;
        audit["status"]!.GetValue<string>().Should().Be("unhealthy");
        audit["consecutiveFailures"]!.GetValue<long>().Should().BePositive();
        written.StatusCode.Should().Be(HttpStatusCode.Created);
        System.Text.Json.Nodes.JsonNode.Parse(await up.Content.ReadAsStringAsync())!["checks"]!["audit"]!["status"]!.GetValue<string>().Should().Be("healthy");
    }

    [Fact]
    public async Task HealthTurns503WhileTheDatabaseIsDownAndRecoversWithoutRestart()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database);

        await database.Managed!.KillAsync();
        using var down = await host.Client.GetAsync("/api/health");
        await database.Managed.RestartAsync();
        using var up = await host.Client.GetAsync("/api/health");

        down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        var downBody = System.Text.Json.Nodes.JsonNode.Parse(await down.Content.ReadAsStringAsync())!;
        downBody["status"]!.GetValue<string>().Should().Be("unhealthy");
        downBody["checks"]!["database"]!["status"]!.GetValue<string>().Should().Be("unhealthy");
        up.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
