using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Security;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Customers;

/// <summary>POST /api/customers with an Idempotency-Key: a client's retry never makes a second customer.</summary>
public sealed class IdempotentCreateTests
{
    [Fact]
    public async Task RetriesWithTheSameKeyAnswerWithTheFirstCustomerAndCreateNothingMore()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var key = Guid.NewGuid().ToString();

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var response = await CreateAsync(host, tenant.Admin.AccessToken, key, new { name = "Retried Ltd", email = "ops@retried.test" });
            return (response.StatusCode, Body: await response.JsonAsync());
        }));

        answers.Should().AllSatisfy(a => a.StatusCode.Should().Be(HttpStatusCode.Created));
        answers.Select(a => a.Body["id"]!.GetValue<string>()).Distinct().Should().ContainSingle();
        (await CountAsync(host, tenant.Id, "Retried Ltd")).Should().Be(1);
        (await AuditCountAsync(host, tenant.Id, "customer.created")).Should().Be(1, "one customer, one entry");
        using var quotas = await host.SendAsync(HttpMethod.Get, "/api/tenants/quotas", tenant.Admin.AccessToken);
        (await quotas.JsonAsync())["quotas"]!["customers"]!["used"]!.GetValue<long>().Should().Be(1, "retries reserve no quota");
    }

    [Fact]
    public async Task TheSameKeyWithOtherFieldsIsRefusedAndOtherKeysOrUsersCreateAnew()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        const string key = "order-42";

        using var first = await CreateAsync(host, tenant.Admin.AccessToken, key, new { name = "First" });
        first.StatusCode.Should().Be(HttpStatusCode.Created);
        using var other = await CreateAsync(host, tenant.Admin.AccessToken, key, new { name = "Something else" });
        other.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await other.JsonAsync())["type"]!.GetValue<string>().Should().EndWith("/idempotency-key-reused");

        using var anotherKey = await CreateAsync(host, tenant.Admin.AccessToken, "order-43", new { name = "First" });
        using var anotherUser = await CreateAsync(host, member.AccessToken, key, new { name = "First" });
        anotherKey.StatusCode.Should().Be(HttpStatusCode.Created);
        anotherUser.StatusCode.Should().Be(HttpStatusCode.Created, "keys are the user's own");
        (await CountAsync(host, tenant.Id, "First")).Should().Be(3);
    }

    [Fact]
    public async Task ARetryAtTheCustomersLimitOnAFreshActivationStillAnswersWithTheFirstCustomer()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        const string key = "at-the-limit";
        using var first = await CreateAsync(host, tenant.Admin.AccessToken, key, new { name = "Only One" });
        first.StatusCode.Should().Be(HttpStatusCode.Created);
        var id = (await first.JsonAsync())["id"]!.GetValue<string>();
        using var limit = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{tenant.Id}/quotas", await host.SharedSuperAdminTokenAsync(),
            new { customers = 1, reason = "retry at the limit" });
        limit.StatusCode.Should().Be(HttpStatusCode.OK);

        // The retry lands on a new activation of the customer's grain, which has not read its row (reads are lazy).
        host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        await host.Services.GetRequiredService<IGrainFactory>().GetGrain<ICustomerGrain>(GrainKeys.Customer(tenant.Id, Guid.Parse(id))).ForgetAsync();
        RequestContext.Clear();
        using var retry = await CreateAsync(host, tenant.Admin.AccessToken, key, new { name = "Only One" });
        using var another = await CreateAsync(host, tenant.Admin.AccessToken, "a-second-one", new { name = "Second" });

        retry.StatusCode.Should().Be(HttpStatusCode.Created, "the retry creates nothing, so the quota has nothing to refuse");
        (await retry.JsonAsync())["id"]!.GetValue<string>().Should().Be(id);
        another.StatusCode.Should().Be(HttpStatusCode.Forbidden, "a new customer is over the limit");
        (await another.ProblemTypeAsync()).Should().EndWith("/quota-exceeded");
        (await CountAsync(host, tenant.Id, "Only One")).Should().Be(1);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public async Task AnEmptyOrOverlongKeyIsAProblemNotACreate(string? key)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await CreateAsync(host, tenant.Admin.AccessToken, key ?? new string('k', 201), new { name = "Nobody" });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await CountAsync(host, tenant.Id, "Nobody")).Should().Be(0);
    }

    private static async Task<HttpResponseMessage> CreateAsync(ApiHost host, string token, string key, object body)
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/customers", token);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        request.Content = JsonContent.Create(body);
        return await host.Client.SendAsync(request);
    }

    private static async Task<long> CountAsync(ApiHost host, Guid tenant, string name) =>
        await ScalarAsync(host, "SELECT count(*) FROM customers WHERE tenant_id = $1 AND name = $2", tenant, name);

    private static async Task<long> AuditCountAsync(ApiHost host, Guid tenant, string action) =>
        await ScalarAsync(host, "SELECT count(*) FROM audit_logs WHERE tenant_id = $1 AND action = $2", tenant, action);

    private static async Task<long> ScalarAsync(ApiHost host, string sql, Guid tenant, string text)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = text });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
