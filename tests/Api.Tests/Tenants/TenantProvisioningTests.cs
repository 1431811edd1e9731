using System.Net;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Tenants;

public sealed class TenantProvisioningTests
{
    [Fact]
    public async Task ProvisionCreatesAnActiveTenantWithItsAdmin()
    {
        var host = await ApiHost.SharedAsync();
        var body = TenantBody.New(plan: "enterprise");

        using var response = await host.ProvisionAsync(body);
        var tenant = await response.JsonAsync();
        var id = tenant["id"]!.GetValue<Guid>();
        using var get = await host.AdminTenantsAsync(HttpMethod.Get, $"{id}");
        var row = await host.RunbookTenantAsync(id);
        using var login = await host.PostLoginAsync(body.AdminEmail!, body.AdminPassword!);

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        response.Headers.Location!.OriginalString.Should().Be($"/api/admin/tenants/{id}");
        tenant["name"]!.GetValue<string>().Should().Be(body.Name);
        tenant["contactEmail"]!.GetValue<string>().Should().Be(body.ContactEmail);
        tenant["status"]!.GetValue<string>().Should().Be("active");
        tenant["plan"]!.GetValue<string>().Should().Be("enterprise");
        tenant["createdAt"]!.GetValue<DateTimeOffset>().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        tenant["admin"]!["id"]!.GetValue<Guid>().Should().NotBeEmpty();
        tenant["admin"]!["email"]!.GetValue<string>().Should().Be(body.AdminEmail);
        tenant.ToJsonString().Should().NotContain(body.AdminPassword!);
        get.StatusCode.Should().Be(HttpStatusCode.OK);
        var reported = await get.JsonAsync();
        reported.Select(p => p.Key).Should().Contain(["id", "name", "contactEmail", "plan", "status", "createdAt", "statusChangedAt", "retentionUntil"]);
        row.Should().Be(new RunbookTenant(id, body.Name!, "active", "enterprise"));
        login.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ProvisionListsEveryInvalidFieldInOneProblem()
    {
        var host = await ApiHost.SharedAsync();
        var body = new TenantBody(" ", "not-an-email", "", "admin@", "short", "platinum");

        using var response = await host.ProvisionAsync(body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("validation"));
        problem["detail"]!.GetValue<string>().Should().NotBeNullOrWhiteSpace();
        var errors = problem["errors"]!.AsObject();
        errors.Select(e => e.Key).Should().BeEquivalentTo("name", "contactEmail", "adminName", "adminEmail", "adminPassword", "plan");
        errors.Should().OnlyContain(e => e.Value!.AsArray().Count > 0);
    }

    [Fact]
    public async Task ProvisionWithMissingFieldsListsThemAll()
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/admin/tenants/provision", await host.SharedSuperAdminTokenAsync(), new { });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ProblemAsync())["errors"]!.AsObject().Select(e => e.Key)
            .Should().BeEquivalentTo("name", "contactEmail", "adminName", "adminEmail", "adminPassword", "plan");
    }

    [Fact]
    public async Task AnAdminEmailOfAnotherTenantIsProvisionedAndEachAdminSignsInToItsOwnTenant()
    {
        var host = await ApiHost.SharedAsync();
        var first = TenantBody.New();
        var firstId = await host.ProvisionIdAsync(first);
        var second = TenantBody.New() with { AdminEmail = first.AdminEmail!.ToUpperInvariant(), AdminPassword = "second-admin-password" };

        using var response = await host.ProvisionAsync(second);

        response.StatusCode.Should().Be(HttpStatusCode.Created, "e-mail addresses are unique per tenant");
        var secondId = (await response.JsonAsync())["id"]!.GetValue<Guid>();
        (await host.LoginAsync(first.AdminEmail, first.AdminPassword!)).Body["user"]!["tenantId"]!.GetValue<Guid>().Should().Be(firstId);
        (await host.LoginAsync(first.AdminEmail, "second-admin-password")).Body["user"]!["tenantId"]!.GetValue<Guid>().Should().Be(secondId);
    }

    [Fact]
    public async Task ARetryWithTheSameIdempotencyKeyReturnsTheFirstTenant()
    {
        var host = await ApiHost.SharedAsync();
        var body = TenantBody.New();
        var key = Guid.NewGuid().ToString();

        using var first = await host.ProvisionAsync(body, key);
        using var retry = await host.ProvisionAsync(body, key);

        first.StatusCode.Should().Be(HttpStatusCode.Created);
        retry.StatusCode.Should().Be(HttpStatusCode.Created);
        var firstId = (await first.JsonAsync())["id"]!.GetValue<Guid>();
        (await retry.JsonAsync())["id"]!.GetValue<Guid>().Should().Be(firstId);
        (await host.CountTenantsNamedAsync(body.Name!)).Should().Be(1);
    }

    [Fact]
    public async Task ReusingAnIdempotencyKeyForADifferentBodyIs422()
    {
        var host = await ApiHost.SharedAsync();
        var body = TenantBody.New();
        var other = TenantBody.New();
        var key = Guid.NewGuid().ToString();
        using var first = await host.ProvisionAsync(body, key);

        using var reused = await host.ProvisionAsync(other, key);

        first.StatusCode.Should().Be(HttpStatusCode.Created);
        reused.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await reused.ProblemAsync())["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("idempotency-key-reused"));
        (await host.CountTenantsNamedAsync(other.Name!)).Should().Be(0);
    }

    [Fact]
    public async Task AHardDeleteAlsoRemovesTheIdempotencyRecordSoTheKeyProvisionsAFreshTenant()
    {
        var host = await ApiHost.SharedAsync();
        var body = TenantBody.New();
        var key = Guid.NewGuid().ToString();
        using var first = await host.ProvisionAsync(body, key);
        var firstId = (await first.JsonAsync())["id"]!.GetValue<Guid>();
        using (var purge = await host.AdminTenantsAsync(HttpMethod.Post, $"{firstId}/delete", new { hardDelete = true, force = true }))
        {
            purge.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var leftover = await StoredProvisioningRecordsAsync(host, firstId);
        using var retry = await host.ProvisionAsync(body, key);

        leftover.Should().Be(0);
        retry.StatusCode.Should().Be(HttpStatusCode.Created);
        var retried = await retry.JsonAsync();
        retried["id"]!.GetValue<Guid>().Should().NotBe(firstId);
        retried["status"]!.GetValue<string>().Should().Be("active");
        (await host.CountTenantsNamedAsync(body.Name!)).Should().Be(1);
    }

    private static async Task<long> StoredProvisioningRecordsAsync(ApiHost host, Guid tenantId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand(
            "SELECT count(*) FROM orleans_storage WHERE grain_type = 'provisioning' AND position($1 in convert_from(payload, 'UTF8')) > 0", connection);
        count.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenantId.ToString() });
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
