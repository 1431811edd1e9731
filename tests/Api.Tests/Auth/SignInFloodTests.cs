using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Api.Auth;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Auth;

/// <summary>What a sign-in flood costs and what an operator sees of it: one audit row per address per window, metrics, an alert.</summary>
public sealed class SignInFloodTests
{
    [Fact]
    public async Task FiftyUnknownEmailAttemptsFromOneAddressAreAuditedAsOneEntry()
    {
        var shared = await ApiHost.SharedAsync();
        // A window of a day: nothing is written until the test flushes.
        await using var host = await ApiHost.StartAsync(shared.Database, settings:
            ["--Shohayota:TrustedProxies=127.0.0.0/8", "--Shohayota:SignInAudit:UnknownEmailWindow=1.00:00:00"]);
        var address = new IPAddress([0x20, 0x01, 0x0d, 0xb8, .. RandomNumberGenerator.GetBytes(12)]).ToString();
        var emails = Enumerable.Range(0, 50).Select(i => $"nobody-{i}-{Guid.NewGuid():N}@nowhere.test").ToList();

        var statuses = new List<HttpStatusCode>();
        foreach (var chunk in emails.Chunk(4))
        {
            statuses.AddRange(await Task.WhenAll(chunk.Select(email => LoginFromAsync(host, address, email))));
        }

        var beforeFlush = await UnknownEmailEntriesAsync(host, address);
        await host.Services.GetRequiredService<UnknownEmailAudit>().FlushAsync();
        var entries = await UnknownEmailEntriesAsync(host, address);

        statuses.Should().OnlyContain(s => s == HttpStatusCode.Unauthorized);
        beforeFlush.Should().BeEmpty();
        var entry = entries.Should().ContainSingle().Subject;
        entry["address"]!.GetValue<string>().Should().Be(address);
        entry["attempts"]!.GetValue<long>().Should().Be(50);
        entry["window"]!.GetValue<string>().Should().Be("1.00:00:00");
        entry["firstAt"]!.GetValue<DateTimeOffset>().Should().BeOnOrBefore(entry["lastAt"]!.GetValue<DateTimeOffset>());
        (await PerEmailEntriesAsync(host, emails)).Should().Be(0, "unknown e-mails are no longer audited one row each");
    }

    [Fact]
    public async Task TheTallyIsWrittenWhenTheNodeStops()
    {
        var shared = await ApiHost.SharedAsync();
        var host = await ApiHost.StartAsync(shared.Database, settings:
            ["--Shohayota:TrustedProxies=127.0.0.0/8", "--Shohayota:SignInAudit:UnknownEmailWindow=1.00:00:00"]);
        var address = new IPAddress([0x20, 0x01, 0x0d, 0xb8, .. RandomNumberGenerator.GetBytes(12)]).ToString();
        for (var i = 0; i < 3; i++)
        {
            (await LoginFromAsync(host, address, $"nobody-{Guid.NewGuid():N}@nowhere.test")).Should().Be(HttpStatusCode.Unauthorized);
        }

        var beforeStop = await UnknownEmailEntriesAsync(host, address);
        await host.DisposeAsync();
        var entries = await UnknownEmailEntriesAsync(host, address);

        beforeStop.Should().BeEmpty();
        entries.Should().ContainSingle().Which["attempts"]!.GetValue<long>().Should().Be(3);
    }

    [Fact]
    public async Task FailedSignInsOverTheThresholdRaiseTheSignInFailuresSystemAlert()
    {
        var shared = await ApiHost.SharedAsync();
        await using var host = await ApiHost.StartAsync(shared.Database, settings:
            ["--Shohayota:Metering:SignInFailuresWarning=12", "--Shohayota:Metering:SignInFailuresCritical=1000",
             // Twelve wrong passwords from one address, each reaching the hash: no delay, no lockout on the way.
             "--Shohayota:Auth:SignIn:DelayBase=00:00:00", "--Shohayota:Auth:LockoutThreshold=100"]);
        var tenant = await host.ProvisionTenantAsync();
        var superAdmin = await host.SuperAdminTokenAsync();

        var before = await SystemAlertsAsync(host, superAdmin);
        for (var i = 0; i < 12; i++)
        {
            using var failed = await host.PostLoginAsync(tenant.AdminEmail, "not-the-password");
            failed.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        var after = await SystemAlertsAsync(host, superAdmin);
        using var scrape = await host.Client.GetAsync("/metrics");
        var prometheus = PrometheusText.Parse(await scrape.Content.ReadAsStringAsync());

        before.Should().NotContain(a => a["metric"]!.GetValue<string>() == "signInFailures");
        var alert = after.Should().ContainSingle(a => a["metric"]!.GetValue<string>() == "signInFailures").Subject;
        alert["tenantId"]!.GetValue<string>().Should().Be("system");
        alert["level"]!.GetValue<string>().Should().Be("warning");
        alert["value"]!.GetValue<double>().Should().Be(12);
        alert["threshold"]!.GetValue<double>().Should().Be(12);
        alert["message"]!.GetValue<string>().Should().Contain("sign-in failures").And.Contain("12");
        prometheus.Value("shohayota_sign_ins_total", ("result", "failed")).Should().Be(12);
        prometheus.Value("shohayota_sign_ins_total", ("result", "unknown_email")).Should().Be(0);
        prometheus.Value("shohayota_sign_ins_total", ("result", "throttled")).Should().Be(0);
        prometheus.Value("shohayota_sign_ins_total", ("result", "busy")).Should().Be(0);
        prometheus.Value("shohayota_sign_ins_total", ("result", "refused")).Should().Be(0);
        prometheus.Value("shohayota_sign_ins_total", ("result", "succeeded")).Should().BePositive();
        prometheus.Value("shohayota_sign_in_failures_5m").Should().Be(12);
        prometheus.Find("shohayota_http_rate_limited_total").Should().ContainSingle();
    }

    private static async Task<HttpStatusCode> LoginFromAsync(ApiHost host, string address, string email)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = JsonContent.Create(new { email, password = "whatever-password" }) };
        request.Headers.Add("X-Forwarded-For", address);
        using var response = await host.Client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<List<JsonNode>> SystemAlertsAsync(ApiHost host, string token)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/api/admin/alerts?tenantId=system", token);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return [.. (await response.JsonAsync())["items"]!.AsArray().Select(a => a!)];
    }

    private static async Task<List<JsonNode>> UnknownEmailEntriesAsync(ApiHost host, string address)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            "SELECT details FROM audit_logs WHERE tenant_id = '00000000-0000-0000-0000-000000000000' AND action = $1 AND target_id = $2", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = UnknownEmailAudit.Action });
        select.Parameters.Add(new NpgsqlParameter { Value = address });
        var entries = new List<JsonNode>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(JsonNode.Parse(reader.GetString(0))!);
        }

        return entries;
    }

    private static async Task<long> PerEmailEntriesAsync(ApiHost host, List<string> emails)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM audit_logs WHERE target_id = ANY($1)", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = emails.ToArray() });
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
