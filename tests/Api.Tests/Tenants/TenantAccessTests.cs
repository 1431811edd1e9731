using System.Net;
using System.Net.Http.Json;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Tenants;

/// <summary>What each tenant status does to its users' still-valid tokens, refresh tokens included.</summary>
public sealed class TenantAccessTests
{
    [Theory]
    [InlineData("suspended", 403, "tenant-suspended", 403, "tenant-suspended", 403, "tenant-suspended")]
    [InlineData("canceled", 200, null, 403, "tenant-canceled", 200, null)]
    [InlineData("deleted", 403, "tenant-deleted", 403, "tenant-deleted", 403, "tenant-deleted")]
    public async Task ATenantsStatusGovernsItsUsersLiveTokens(
        string state, int read, string? readProblem, int write, string writeProblem, int refresh, string? refreshProblem)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        (await TenantLifecycleTests.ApplyAsync(host, tenant.Id, Action(state))).EnsureSuccessStatusCode().Dispose();

        using var list = await host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);
        using var create = await CreateUserAsync(host, tenant);
        using var refreshed = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = tenant.Admin.RefreshToken });

        ((int)list.StatusCode).Should().Be(read);
        if (readProblem is not null)
        {
            (await list.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType(readProblem));
        }

        ((int)create.StatusCode).Should().Be(write);
        (await create.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType(writeProblem));
        ((int)refreshed.StatusCode).Should().Be(refresh);
        if (refreshProblem is not null)
        {
            (await refreshed.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType(refreshProblem));
        }
    }

    [Fact]
    public async Task ACanceledTenantIsKeptForThirtyDaysFromItsCancellation()
    {
        var host = await ApiHost.SharedAsync();
        var id = await host.ProvisionIdAsync(TenantBody.New());

        using var cancel = await host.AdminTenantsAsync(HttpMethod.Post, $"{id}/cancel");
        using var get = await host.AdminTenantsAsync(HttpMethod.Get, $"{id}");

        cancel.StatusCode.Should().Be(HttpStatusCode.OK);
        var canceled = await cancel.JsonAsync();
        var canceledAt = canceled["statusChangedAt"]!.GetValue<DateTimeOffset>();
        canceledAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        canceled["retentionUntil"]!.GetValue<DateTimeOffset>().Should().Be(canceledAt.AddDays(30));
        (await get.JsonAsync())["retentionUntil"]!.GetValue<DateTimeOffset>().Should().Be(canceledAt.AddDays(30));
    }

    [Theory]
    [InlineData("suspended")]
    [InlineData("canceled")]
    [InlineData("deleted")]
    public async Task ReactivationLetsTheTenantsUsersWorkAgain(string state)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        (await TenantLifecycleTests.ApplyAsync(host, tenant.Id, Action(state))).EnsureSuccessStatusCode().Dispose();
        using var blocked = await CreateUserAsync(host, tenant);

        using var reactivate = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/reactivate");
        using var list = await host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);
        using var create = await CreateUserAsync(host, tenant);
        using var refreshed = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = tenant.Admin.RefreshToken });

        blocked.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        reactivate.StatusCode.Should().Be(HttpStatusCode.OK);
        (await reactivate.JsonAsync())["retentionUntil"].Should().BeNull();
        list.StatusCode.Should().Be(HttpStatusCode.OK);
        create.StatusCode.Should().Be(HttpStatusCode.Created);
        refreshed.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static string Action(string state) => state switch
    {
        "suspended" => "suspend",
        "canceled" => "cancel",
        "deleted" => "delete",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    private static Task<HttpResponseMessage> CreateUserAsync(ApiHost host, TestTenant tenant) =>
        host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email = $"user-{Guid.NewGuid():N}@tenant.test", name = "Some User", password = "member-password", role = "member" });
}
