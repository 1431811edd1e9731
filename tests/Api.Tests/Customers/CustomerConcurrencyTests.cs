using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Customers;

/// <summary>
/// Optimistic concurrency in SQL: a customer grain may only replace or delete the version it read. Another writer of the
/// row (a duplicate activation around a silo failure, a restore) is played here by the superuser changing the row behind
/// the grain's back, which is deterministic: the grain still holds version 1 while the row is at version 2.
/// </summary>
public sealed class CustomerConcurrencyTests
{
    [Theory]
    [InlineData(null, HttpStatusCode.Conflict, "conflict")]
    [InlineData("\"1\"", HttpStatusCode.PreconditionFailed, "precondition-failed")]
    public async Task AStaleUpdateIsRefusedLeavesTheOtherChangeAndIsNotAudited(string? ifMatch, HttpStatusCode status, string kind)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Original" });
        await ChangeBehindTheGrainAsync(host, id, "UPDATE customers SET name = 'Other writer', version = 2 WHERE id = $1");

        using var stale = await PutAsync(host, tenant.Admin.AccessToken, id, ifMatch, new { name = "Stale writer" });

        stale.StatusCode.Should().Be(status, await stale.Content.ReadAsStringAsync());
        (await stale.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType(kind));
        (await RowAsync(host, id)).Should().Be("Other writer:2");
        (await AuditedAsync(host, tenant.Id, id, "customer.updated")).Should().Be(0, "a refused write leaves no audit entry");
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", tenant.Admin.AccessToken);
        var body = await read.JsonAsync();
        body["name"]!.GetValue<string>().Should().Be("Other writer", "the grain reloads instead of serving the stale version");
        body["version"]!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public async Task AfterAConflictTheReloadedVersionCanBeUpdated()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Original" });
        await ChangeBehindTheGrainAsync(host, id, "UPDATE customers SET name = 'Other writer', version = 2 WHERE id = $1");
        using (var stale = await PutAsync(host, tenant.Admin.AccessToken, id, null, new { name = "Stale writer" }))
        {
            stale.StatusCode.Should().Be(HttpStatusCode.Conflict);
        }

        using var retry = await PutAsync(host, tenant.Admin.AccessToken, id, "\"2\"", new { name = "Retried" });

        retry.StatusCode.Should().Be(HttpStatusCode.OK, await retry.Content.ReadAsStringAsync());
        retry.Headers.ETag!.Tag.Should().Be("\"3\"");
        (await RowAsync(host, id)).Should().Be("Retried:3");
        (await AuditedAsync(host, tenant.Id, id, "customer.updated")).Should().Be(1);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Conflict, "conflict")]
    [InlineData("\"1\"", HttpStatusCode.PreconditionFailed, "precondition-failed")]
    public async Task AStaleDeleteIsRefusedKeepsTheRowAndIsNotAudited(string? ifMatch, HttpStatusCode status, string kind)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Original" });
        await ChangeBehindTheGrainAsync(host, id, "UPDATE customers SET name = 'Other writer', version = 2 WHERE id = $1");

        using var request = ApiHost.Authorized(HttpMethod.Delete, $"/api/customers/{id}", tenant.Admin.AccessToken);
        if (ifMatch is not null)
        {
            request.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(ifMatch));
        }

        using var stale = await host.Client.SendAsync(request);

        stale.StatusCode.Should().Be(status, await stale.Content.ReadAsStringAsync());
        (await stale.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType(kind));
        (await RowAsync(host, id)).Should().Be("Other writer:2");
        (await AuditedAsync(host, tenant.Id, id, "customer.deleted")).Should().Be(0, "a refused delete leaves no audit entry");
    }

    [Fact]
    public async Task AnUpdateOfARowDeletedBehindTheGrainIsAConflictAndCreatesNothing()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CustomersTests.CreateAsync(host, tenant.Admin.AccessToken, new { name = "Original" });
        await ChangeBehindTheGrainAsync(host, id, "DELETE FROM customers WHERE id = $1");

        using var stale = await PutAsync(host, tenant.Admin.AccessToken, id, null, new { name = "Stale writer" });

        stale.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await RowAsync(host, id)).Should().BeNull();
        (await AuditedAsync(host, tenant.Id, id, "customer.updated")).Should().Be(0);
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", tenant.Admin.AccessToken);
        read.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    private static async Task ChangeBehindTheGrainAsync(ApiHost host, string id, string sql)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(id) });
        (await command.ExecuteNonQueryAsync()).Should().Be(1);
    }

    private static async Task<string?> RowAsync(ApiHost host, string id)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT name || ':' || version FROM customers WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(id) });
        return (string?)await command.ExecuteScalarAsync();
    }

    private static async Task<long> AuditedAsync(ApiHost host, Guid tenant, string id, string action)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM audit_logs WHERE tenant_id = $1 AND target_id = $2 AND action = $3", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = action });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<HttpResponseMessage> PutAsync(ApiHost host, string token, string id, string? ifMatch, object body)
    {
        using var request = ApiHost.Authorized(HttpMethod.Put, $"/api/customers/{id}", token);
        request.Content = JsonContent.Create(body);
        if (ifMatch is not null)
        {
            request.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(ifMatch));
        }

        return await host.Client.SendAsync(request);
    }
}
