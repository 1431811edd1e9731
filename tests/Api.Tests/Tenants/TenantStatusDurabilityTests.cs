using System.Net;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Tenants;

/// <summary>
/// A status change takes effect in the TenantGrain's memory as soon as its transaction commits: a failing secondary
/// write (the copy in the system audit log) neither keeps a suspended tenant admitted nor reports the change as failed.
/// Runs on a database of its own, because it breaks the system log for a while.
/// </summary>
public sealed class TenantStatusDurabilityTests
{
    private static readonly Guid SystemTenant = Guid.Empty;

    [Fact]
    public async Task ASuspensionRefusesTheTenantAtOnceWhenItsSystemLogCopyFailsAndTheCopyIsRetried()
    {
        await using var database = await TestDatabase.StartAsync();
        await using var host = await ApiHost.StartAsync(database);
        var tenant = await host.ProvisionTenantAsync();
        await host.SharedSuperAdminTokenAsync();
        await ExecuteAsync(database,
            """
            CREATE FUNCTION test_system_log_down() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                RAISE EXCEPTION 'the system audit log is down (test)';
            END
            $fn$;
            CREATE TRIGGER test_system_log_down BEFORE INSERT ON audit_logs FOR EACH ROW
                WHEN (NEW.tenant_id = '00000000-0000-0000-0000-000000000000' AND NEW.action = 'tenant.suspended')
                EXECUTE FUNCTION test_system_log_down();
            """);

        using var suspend = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/suspend", new { reason = "unpaid" });
        using var refused = await host.SendAsync(HttpMethod.Get, "/api/customers", tenant.Admin.AccessToken);

        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden, "the suspension committed, so the tenant is refused at once");
        (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-suspended"));
        suspend.StatusCode.Should().Be(HttpStatusCode.OK, "the suspension happened; only its copy in the system log is late");
        (await suspend.JsonAsync())["status"]!.GetValue<string>().Should().Be("suspended");
        (await CountAsync(database, tenant.Id, tenant.Id)).Should().Be(1, "the tenant's own log records it with the change");
        (await CountAsync(database, SystemTenant, tenant.Id)).Should().Be(0);

        await ExecuteAsync(database, "DROP TRIGGER test_system_log_down ON audit_logs");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await CountAsync(database, SystemTenant, tenant.Id) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        (await CountAsync(database, SystemTenant, tenant.Id)).Should().Be(1, "the copy is retried once the system log works again");
        (await ActorRoleAsync(database, tenant.Id)).Should().Be("super_admin", "the retried copy names who suspended the tenant");
        using var verify = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify?tenantId=system", await host.SharedSuperAdminTokenAsync());
        verify.StatusCode.Should().Be(HttpStatusCode.OK);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    private static async Task ExecuteAsync(TestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string?> ActorRoleAsync(TestDatabase database, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT actor_role FROM audit_logs WHERE tenant_id = $1 AND action = 'tenant.suspended' AND target_id = $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = SystemTenant });
        command.Parameters.Add(new NpgsqlParameter { Value = tenant.ToString("D") });
        return (string?)await command.ExecuteScalarAsync();
    }

    private static async Task<long> CountAsync(TestDatabase database, Guid log, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM audit_logs WHERE tenant_id = $1 AND action = 'tenant.suspended' AND target_id = $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = log });
        command.Parameters.Add(new NpgsqlParameter { Value = tenant.ToString("D") });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
