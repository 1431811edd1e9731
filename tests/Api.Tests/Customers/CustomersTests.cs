using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Customers;

public sealed class CustomersTests
{
    [Fact]
    public async Task CreateReturns201WithLocationETagAndDefaults()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Ada" });

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var body = await response.JsonAsync();
        response.Headers.Location!.ToString().Should().Be($"/api/customers/{body["id"]}");
        response.Headers.ETag!.Tag.Should().Be("\"1\"");
        body["status"]!.GetValue<string>().Should().Be("lead");
        body["version"]!.GetValue<int>().Should().Be(1);
        body["tags"]!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task InputIsStoredVerbatimAndReturnedExactly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var fields = new
        {
            name = "O'Brien \"Bob\"; DROP TABLE customers; -- 😀 مرحبا 你好",
            email = "o.brien+crm@example.com",
            phone = "  +1 (555) 010-9999  ",
            company = "Robert'); DELETE FROM users;--",
            status = "prospect",
            tags = new[] { "vip", "שלום", "🚀" },
            notes = "Line 1\nLine 2\t\\ % _ \u0000x".Replace("\u0000", "", StringComparison.Ordinal),
        };

        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, fields);
        var id = (await created.JsonAsync())["id"]!.GetValue<string>();
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", tenant.Admin.AccessToken);

        var body = await read.JsonAsync();
        body["name"]!.GetValue<string>().Should().Be(fields.name);
        body["phone"]!.GetValue<string>().Should().Be(fields.phone);
        body["company"]!.GetValue<string>().Should().Be(fields.company);
        body["notes"]!.GetValue<string>().Should().Be(fields.notes);
        body["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal(fields.tags);
    }

    [Fact]
    public async Task UpdateWithAStaleIfMatchIs412AndChangesNothing()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CreateAsync(host, tenant.Admin.AccessToken, new { name = "First" });
        using (var first = await PutAsync(host, tenant.Admin.AccessToken, id, "\"1\"", new { name = "Second" }))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
            first.Headers.ETag!.Tag.Should().Be("\"2\"");
        }

        using var stale = await PutAsync(host, tenant.Admin.AccessToken, id, "\"1\"", new { name = "Third" });

        stale.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        (await stale.ProblemTypeAsync()).Should().EndWith("/precondition-failed");
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", tenant.Admin.AccessToken);
        (await read.JsonAsync())["name"]!.GetValue<string>().Should().Be("Second");
    }

    [Fact]
    public async Task UpdateIsAFullReplacement()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CreateAsync(host, tenant.Admin.AccessToken, new { name = "Full", email = "a@b.test", tags = new[] { "x" } });

        using var put = await PutAsync(host, tenant.Admin.AccessToken, id, null, new { name = "Full", status = "customer" });

        var body = await put.JsonAsync();
        body["email"].Should().BeNull();
        body["tags"]!.AsArray().Should().BeEmpty();
        body["status"]!.GetValue<string>().Should().Be("customer");
    }

    [Fact]
    public async Task DeleteReturns204AndTheCustomerIsGone()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CreateAsync(host, tenant.Admin.AccessToken, new { name = "Gone" });

        using var delete = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{id}", tenant.Admin.AccessToken);
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", tenant.Admin.AccessToken);

        delete.StatusCode.Should().Be(HttpStatusCode.NoContent);
        read.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnotherTenantsCustomerAnswersExactlyLikeAMissingOneAndChangesNothing()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var foreign = await CreateAsync(host, b.Admin.AccessToken, new { name = "B's secret" });
        var missing = Guid.NewGuid().ToString();

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            object? body = method == HttpMethod.Put ? new { name = "Hijacked" } : null;
            using var toForeign = await host.SendAsync(method, $"/api/customers/{foreign}", a.Admin.AccessToken, body);
            using var toMissing = await host.SendAsync(method, $"/api/customers/{missing}", a.Admin.AccessToken, body);

            toForeign.StatusCode.Should().Be(HttpStatusCode.NotFound, method.ToString());
            Strip(await toForeign.Content.ReadAsStringAsync()).Should().Be(Strip(await toMissing.Content.ReadAsStringAsync()));
        }

        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{foreign}", b.Admin.AccessToken);
        var after = await read.JsonAsync();
        after["name"]!.GetValue<string>().Should().Be("B's secret");
        after["version"]!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task ATenantIdInTheBodyNeverChangesWhichTenantTheRowBelongsTo()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();

        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken,
            new { name = "Mine", tenantId = b.Id, tenant_id = b.Id });
        var id = (await created.JsonAsync())["id"]!.GetValue<string>();

        using var fromB = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", b.Admin.AccessToken);
        using var fromA = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", a.Admin.AccessToken);
        fromB.StatusCode.Should().Be(HttpStatusCode.NotFound);
        fromA.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task InvalidFieldsAreAllListedInOneProblem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new
        {
            name = new string('n', 201),
            email = "not-an-email",
            phone = new string('1', 51),
            company = new string('c', 201),
            status = "vip",
            tags = Enumerable.Range(0, 21).Select(i => $"t{i}").ToArray(),
            notes = new string('x', 10_001),
        });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var errors = (await response.JsonAsync())["errors"]!.AsObject();
        errors.Select(e => e.Key).Should().BeEquivalentTo("name", "email", "phone", "company", "status", "tags", "notes");
    }

    [Fact]
    public async Task OwnerMustBeAUserOfTheSameTenant()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var ownerInA = Guid.Parse(a.Admin.Body["user"]!["id"]!.GetValue<string>());
        var ownerInB = Guid.Parse(b.Admin.Body["user"]!["id"]!.GetValue<string>());

        using var ok = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken, new { name = "Owned", ownerUserId = ownerInA });
        using var foreign = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken, new { name = "Owned", ownerUserId = ownerInB });

        ok.StatusCode.Should().Be(HttpStatusCode.Created);
        foreign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task MembersMayWriteAndCanceledTenantsAreReadOnly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var id = await CreateAsync(host, member.AccessToken, new { name = "By member" });
        using (var cancel = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/cancel", await host.SuperAdminTokenAsync()))
        {
            cancel.EnsureSuccessStatusCode();
        }

        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{id}", member.AccessToken);
        using var write = await host.SendAsync(HttpMethod.Post, "/api/customers", member.AccessToken, new { name = "Late" });

        read.StatusCode.Should().Be(HttpStatusCode.OK);
        write.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await write.ProblemTypeAsync()).Should().EndWith("/tenant-canceled");
    }

    [Fact]
    public async Task SuperAdminsDoNotUseTheTenantCustomerRoutes()
    {
        var host = await ApiHost.SharedAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/customers", await host.SuperAdminTokenAsync());

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    internal static async Task<string> CreateAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
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

    private static string Strip(string problem)
    {
        var node = JsonNode.Parse(problem)!.AsObject();
        node.Remove("traceId");
        node.Remove("requestId");
        return node.ToJsonString();
    }
}
