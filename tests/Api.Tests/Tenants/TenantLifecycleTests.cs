using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Tenants;

public sealed class TenantLifecycleTests
{
    /// <summary>From each state (reached through the API), each action: the status code and the status afterwards.</summary>
    public static TheoryData<string, string, HttpStatusCode, string> Transitions => new()
    {
        { "active", "suspend", HttpStatusCode.OK, "suspended" },
        { "active", "reactivate", HttpStatusCode.OK, "active" },
        { "active", "cancel", HttpStatusCode.OK, "canceled" },
        { "active", "delete", HttpStatusCode.OK, "deleted" },
        { "suspended", "suspend", HttpStatusCode.OK, "suspended" },
        { "suspended", "reactivate", HttpStatusCode.OK, "active" },
        { "suspended", "cancel", HttpStatusCode.OK, "canceled" },
        { "suspended", "delete", HttpStatusCode.OK, "deleted" },
        { "canceled", "suspend", HttpStatusCode.Conflict, "canceled" },
        { "canceled", "reactivate", HttpStatusCode.OK, "active" },
        { "canceled", "cancel", HttpStatusCode.OK, "canceled" },
        { "canceled", "delete", HttpStatusCode.OK, "deleted" },
        { "deleted", "suspend", HttpStatusCode.Conflict, "deleted" },
        { "deleted", "reactivate", HttpStatusCode.OK, "active" },
        { "deleted", "cancel", HttpStatusCode.Conflict, "deleted" },
        { "deleted", "delete", HttpStatusCode.OK, "deleted" },
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public async Task EachTransitionIsAllowedOrRefusedNamingTheCurrentStatus(string from, string action, HttpStatusCode expected, string after)
    {
        var host = await ApiHost.SharedAsync();
        var id = await TenantInAsync(host, from);

        using var response = await ApplyAsync(host, id, action);
        using var get = await host.AdminTenantsAsync(HttpMethod.Get, $"{id}");
        var row = await host.RunbookTenantAsync(id);

        response.StatusCode.Should().Be(expected);
        if (expected == HttpStatusCode.OK)
        {
            (await response.JsonAsync())["status"]!.GetValue<string>().Should().Be(after);
        }
        else
        {
            var problem = await response.ProblemAsync();
            problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("transition-not-allowed"));
            problem["detail"]!.GetValue<string>().Should().Contain(from);
        }

        (await get.JsonAsync())["status"]!.GetValue<string>().Should().Be(after);
        row!.Status.Should().Be(after);
    }

    [Theory]
    [InlineData("active", "reactivate")]
    [InlineData("suspended", "suspend")]
    [InlineData("canceled", "cancel")]
    [InlineData("deleted", "delete")]
    public async Task RepeatingTheCurrentTransitionIsAHarmless200(string state, string action)
    {
        var host = await ApiHost.SharedAsync();
        var id = await TenantInAsync(host, state);
        using var before = await host.AdminTenantsAsync(HttpMethod.Get, $"{id}");

        using var repeat = await ApplyAsync(host, id, action);

        repeat.StatusCode.Should().Be(HttpStatusCode.OK);
        var tenant = await repeat.JsonAsync();
        var original = await before.JsonAsync();
        tenant["status"]!.GetValue<string>().Should().Be(state);
        tenant["statusChangedAt"]!.GetValue<DateTimeOffset>().Should().Be(original["statusChangedAt"]!.GetValue<DateTimeOffset>());
        (tenant["retentionUntil"]?.GetValue<DateTimeOffset>()).Should().Be(original["retentionUntil"]?.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task TheRunbookQueryReturnsWhatTheApiReportsAfterEveryChange()
    {
        var host = await ApiHost.SharedAsync();
        var id = await host.ProvisionIdAsync(TenantBody.New(plan: "free"));
        var steps = new[] { "suspend", "reactivate", "cancel", "delete", "reactivate" };

        var observed = new List<(RunbookTenant Api, RunbookTenant? Sql)>();
        foreach (var step in steps)
        {
            (await ApplyAsync(host, id, step)).EnsureSuccessStatusCode().Dispose();
            using var get = await host.AdminTenantsAsync(HttpMethod.Get, $"{id}");
            observed.Add((Runbook(await get.JsonAsync()), await host.RunbookTenantAsync(id)));
        }

        observed.Select(o => o.Api.Status).Should().Equal("suspended", "active", "canceled", "deleted", "active");
        observed.Should().OnlyContain(o => o.Sql == o.Api);
    }

    [Fact]
    public async Task SuspendKeepsTheReasonGivenAndReactivateClearsIt()
    {
        var host = await ApiHost.SharedAsync();
        var id = await host.ProvisionIdAsync(TenantBody.New());

        using var suspend = await host.AdminTenantsAsync(HttpMethod.Post, $"{id}/suspend", new { reason = "Invoice 42 unpaid" });
        using var reactivate = await host.AdminTenantsAsync(HttpMethod.Post, $"{id}/reactivate");

        (await suspend.JsonAsync())["statusReason"]!.GetValue<string>().Should().Be("Invoice 42 unpaid");
        (await reactivate.JsonAsync())["statusReason"].Should().BeNull();
    }

    [Theory]
    [InlineData("active")]
    [InlineData("suspended")]
    public async Task HardDeleteOfALiveTenantWithoutForceIs409(string state)
    {
        var host = await ApiHost.SharedAsync();
        var id = await TenantInAsync(host, state);

        using var response = await host.AdminTenantsAsync(HttpMethod.Post, $"{id}/delete", new { hardDelete = true });

        response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await response.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("force");
        (await host.RunbookTenantAsync(id))!.Status.Should().Be(state);
    }

    [Theory]
    [InlineData("canceled")]
    [InlineData("deleted")]
    public async Task HardDeleteInsideRetentionWithoutForceIs409NamingTheDate(string state)
    {
        var host = await ApiHost.SharedAsync();
        var id = await TenantInAsync(host, state);
        using var get = await host.AdminTenantsAsync(HttpMethod.Get, $"{id}");
        var retentionUntil = (await get.JsonAsync())["retentionUntil"]!.GetValue<DateTimeOffset>();

        using var response = await host.AdminTenantsAsync(HttpMethod.Post, $"{id}/delete", new { hardDelete = true, force = false });

        response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("retention-not-elapsed"));
        problem["detail"]!.GetValue<string>().Should().Contain(retentionUntil.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
        (await host.RunbookTenantAsync(id))!.Status.Should().Be(state);
    }

    [Fact]
    public async Task HardDeleteWithForceRemovesTheTenantAndItsUsers()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        using var delete = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/delete", new { hardDelete = true, force = true });
        using var get = await host.AdminTenantsAsync(HttpMethod.Get, $"{tenant.Id}");
        using var login = await host.PostLoginAsync(tenant.AdminEmail, tenant.AdminPassword);
        using var memberMe = await host.SendAsync(HttpMethod.Get, "/api/auth/me", member.AccessToken);
        using var refresh = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = tenant.Admin.RefreshToken });

        delete.StatusCode.Should().Be(HttpStatusCode.OK);
        get.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await get.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("not-found"));
        login.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        memberMe.StatusCode.Should().BeOneOf(HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden);
        refresh.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
        (await CountTenantRowsAsync(host, tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task TransitionsOfAnUnknownTenantAre404()
    {
        var host = await ApiHost.SharedAsync();
        var id = Guid.NewGuid();

        using var get = await host.AdminTenantsAsync(HttpMethod.Get, $"{id}");
        using var suspend = await host.AdminTenantsAsync(HttpMethod.Post, $"{id}/suspend");
        using var delete = await host.AdminTenantsAsync(HttpMethod.Post, $"{id}/delete", new { hardDelete = true, force = true });

        get.StatusCode.Should().Be(HttpStatusCode.NotFound);
        suspend.StatusCode.Should().Be(HttpStatusCode.NotFound);
        delete.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    /// <summary>A new tenant brought into <paramref name="state"/> through the API.</summary>
    internal static async Task<Guid> TenantInAsync(ApiHost host, string state)
    {
        var id = await host.ProvisionIdAsync(TenantBody.New());
        var action = state switch
        {
            "active" => null,
            "suspended" => "suspend",
            "canceled" => "cancel",
            "deleted" => "delete",
            _ => throw new ArgumentOutOfRangeException(nameof(state)),
        };
        if (action is not null)
        {
            using var response = await ApplyAsync(host, id, action);
            response.EnsureSuccessStatusCode();
        }

        return id;
    }

    /// <summary>One runbook action; "delete" is the soft delete.</summary>
    internal static Task<HttpResponseMessage> ApplyAsync(ApiHost host, Guid id, string action) => action == "delete"
        ? host.AdminTenantsAsync(HttpMethod.Post, $"{id}/delete", new { hardDelete = false })
        : host.AdminTenantsAsync(HttpMethod.Post, $"{id}/{action}");

    private static RunbookTenant Runbook(JsonObject tenant) => new(
        tenant["id"]!.GetValue<Guid>(), tenant["name"]!.GetValue<string>(), tenant["status"]!.GetValue<string>(), tenant["plan"]!.GetValue<string>());

    /// <summary>Rows the tenant owns in the operator's view (superuser, no RLS): users, refresh tokens, grain state.</summary>
    private static async Task<long> CountTenantRowsAsync(ApiHost host, Guid tenantId)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            """
            SELECT (SELECT count(*) FROM users WHERE tenant_id = $1)
                 + (SELECT count(*) FROM refresh_tokens WHERE tenant_id = $1)
                 + (SELECT count(*) FROM orleans_storage WHERE grain_id_extension LIKE $2)
            """,
            connection);
        count.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        count.Parameters.Add(new NpgsqlParameter { Value = tenantId.ToString("D") + "/%" });
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
