using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Api.Auth;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Tenants;

namespace Shohayota.Api.Tests.Auth;

/// <summary>Tenant API keys: created once-shown, stored as a hash, accepted as their tenant and role, refused when revoked or expired.</summary>
public sealed class ApiKeyTests
{
    [Fact]
    public async Task AnAdminCreatesAKeyWhoseSecretIsShownOnceAndStoredOnlyAsItsHash()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        var (id, secret) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "ci-bot", "member");
        using var list = await host.SendAsync(HttpMethod.Get, "/api/api-keys", tenant.Admin.AccessToken);
        var listed = (await list.Content.ReadAsStringAsync());
        var row = await RowAsync(host, id);
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=api_key.created&targetId={id}", tenant.Admin.AccessToken);
        var auditText = await audit.Content.ReadAsStringAsync();

        secret.Should().MatchRegex("^shy_[0-9A-Za-z]{43}$");
        list.StatusCode.Should().Be(HttpStatusCode.OK);
        var item = JsonNode.Parse(listed)!["items"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == id)!;
        item["prefix"]!.GetValue<string>().Should().Be(secret[..12]);
        item["name"]!.GetValue<string>().Should().Be("ci-bot");
        item["role"]!.GetValue<string>().Should().Be("member");
        listed.Should().NotContain(secret[12..], "the list never shows the secret");
        ((byte[])row["secret_hash"]!).Should().Equal(SHA256.HashData(Encoding.ASCII.GetBytes(secret)));
        string.Join("|", row.Values.Select(v => v is byte[] b ? Convert.ToHexString(b) : v?.ToString())).Should().NotContain(secret[12..],
            "only the hash and the 12-character prefix are stored");
        JsonNode.Parse(auditText)!["items"]!.AsArray().Should().ContainSingle();
        auditText.Should().NotContain(secret[12..], "the audit entry names the key, never its secret");
    }

    [Fact]
    public async Task AKeyCallsTheApiAsItsTenantAndRoleThroughEitherHeaderAndIsTheAuditedActor()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var (memberKeyId, memberKey) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "sync job", "member");
        var (_, adminKey) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "admin job", "tenant_admin");

        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", memberKey, new { name = "Made by a key" });
        var customerId = (await created.JsonAsync())["id"]!.GetValue<string>();
        using var byHeader = await SendWithHeaderAsync(host, HttpMethod.Get, $"/api/customers/{customerId}", memberKey);
        using var memberUsers = await host.SendAsync(HttpMethod.Get, "/api/users", memberKey);
        using var adminUsers = await host.SendAsync(HttpMethod.Get, "/api/users", adminKey);
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=customer.created&targetId={customerId}", tenant.Admin.AccessToken);

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        byHeader.StatusCode.Should().Be(HttpStatusCode.OK);
        (await byHeader.JsonAsync())["name"]!.GetValue<string>().Should().Be("Made by a key");
        memberUsers.StatusCode.Should().Be(HttpStatusCode.Forbidden, "a member key has a member's rights");
        adminUsers.StatusCode.Should().Be(HttpStatusCode.OK, "an admin key has an admin's rights");
        var actor = (await audit.JsonAsync())["items"]!.AsArray().Single()!["actor"]!;
        actor["id"]!.GetValue<string>().Should().Be(memberKeyId);
        actor["email"]!.GetValue<string>().Should().Be("api-key:sync job");
        actor["role"]!.GetValue<string>().Should().Be("member");
    }

    [Theory]
    [InlineData("GET", "/api/auth/me")]
    [InlineData("POST", "/api/auth/password")]
    [InlineData("POST", "/api/auth/sessions/revoke")]
    [InlineData("GET", "/api/api-keys")]
    [InlineData("POST", "/api/api-keys")]
    [InlineData("GET", "/api/admin/tenants")]
    public async Task EvenAnAdminKeyMayNotUseAPersonsOwnRoutesManageKeysOrActAsASuperAdmin(string method, string path)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var (_, adminKey) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "admin job", "tenant_admin");

        using var response = await host.SendAsync(new HttpMethod(method), path, adminKey,
            method == "POST" ? new { name = "successor", role = "tenant_admin", currentPassword = "x", newPassword = "y-long-password" } : null);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("forbidden"));
    }

    [Fact]
    public async Task AnAdminKeyMayNotCreateDisableOrEnableUsers()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var memberId = member.Body["user"]!["id"]!.GetValue<string>();
        var adminId = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        var (_, adminKey) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "admin job", "tenant_admin");
        using (var disabledByAdmin = await host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/disable", tenant.Admin.AccessToken))
        {
            disabledByAdmin.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // A leaked admin key would otherwise plant an admin who signs in as a person (and manages keys and webhooks),
        // lock the tenant's people out, or let a disabled one back in.
        using var created = await host.SendAsync(HttpMethod.Post, "/api/users", adminKey,
            new { email = $"planted-{Guid.NewGuid():N}@tenant.test", name = "Planted", password = "a-planted-password", role = "tenant_admin" });
        using var disabled = await host.SendAsync(HttpMethod.Post, $"/api/users/{adminId}/disable", adminKey);
        using var enabled = await host.SendAsync(HttpMethod.Post, $"/api/users/{memberId}/enable", adminKey);
        using var users = await host.SendAsync(HttpMethod.Get, "/api/users", adminKey);

        foreach (var response in new[] { created, disabled, enabled })
        {
            response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
            (await response.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("forbidden"));
        }

        users.StatusCode.Should().Be(HttpStatusCode.OK, "reading the users stays an admin key's right");
        var listed = (await users.JsonAsync())["items"]!.AsArray();
        listed.Should().HaveCount(2, "no user was planted");
        listed.Single(u => u!["id"]!.GetValue<string>() == adminId)!["disabled"]!.GetValue<bool>().Should().BeFalse();
        listed.Single(u => u!["id"]!.GetValue<string>() == memberId)!["disabled"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task AMemberMayNotManageKeysAndAnotherTenantsKeyIdAnswersLikeAMissingOne()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var (foreignId, foreignKey) = await CreateKeyAsync(host, other.Admin.AccessToken, "theirs", "member");

        using var byMember = await host.SendAsync(HttpMethod.Post, "/api/api-keys", member.AccessToken, new { name = "mine" });
        using var foreign = await host.SendAsync(HttpMethod.Delete, $"/api/api-keys/{foreignId}", tenant.Admin.AccessToken);
        using var missing = await host.SendAsync(HttpMethod.Delete, $"/api/api-keys/{Guid.NewGuid()}", tenant.Admin.AccessToken);
        using var stillWorks = await host.SendAsync(HttpMethod.Get, "/api/customers", foreignKey);

        byMember.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        foreign.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await foreign.BodyWithoutTraceAsync()).Should().Be(await missing.BodyWithoutTraceAsync());
        stillWorks.StatusCode.Should().Be(HttpStatusCode.OK, "another tenant's admin cannot revoke the key");
    }

    [Fact]
    public async Task AKeyOfOneTenantReadsNothingOfAnother()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var (_, key) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "reader", "tenant_admin");
        using var theirs = await host.SendAsync(HttpMethod.Post, "/api/customers", other.Admin.AccessToken, new { name = "Theirs" });
        var theirId = (await theirs.JsonAsync())["id"]!.GetValue<string>();

        using var foreign = await host.SendAsync(HttpMethod.Get, $"/api/customers/{theirId}", key);
        using var missing = await host.SendAsync(HttpMethod.Get, $"/api/customers/{Guid.NewGuid()}", key);
        using var list = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=200", key);
        using var foreignAudit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?tenantId={other.Id}", key);

        foreign.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await foreign.BodyWithoutTraceAsync()).Should().Be(await missing.BodyWithoutTraceAsync());
        (await list.Content.ReadAsStringAsync()).Should().NotContain(theirId);
        foreignAudit.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ARevokedKeyIsRefusedAtOnceOnTheNodeThatRevokedItAndUnknownOrMalformedKeysAreRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var (id, key) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "to revoke", "member");
        (await host.SendAsync(HttpMethod.Get, "/api/customers", key)).EnsureSuccessStatusCode().Dispose();

        using var revoked = await host.SendAsync(HttpMethod.Delete, $"/api/api-keys/{id}", tenant.Admin.AccessToken);
        using var after = await host.SendAsync(HttpMethod.Get, "/api/customers", key);
        using var unknown = await host.SendAsync(HttpMethod.Get, "/api/customers", "shy_" + new string('A', 43));
        using var malformed = await SendWithHeaderAsync(host, HttpMethod.Get, "/api/customers", "shy_short");
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=api_key.revoked&targetId={id}", tenant.Admin.AccessToken);

        revoked.StatusCode.Should().Be(HttpStatusCode.OK);
        (await revoked.JsonAsync())["revokedAt"].Should().NotBeNull();
        after.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await after.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("revoked");
        unknown.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        malformed.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await audit.JsonAsync())["items"]!.AsArray().Should().ContainSingle();
        (await RowAsync(host, id))["revoked_at"].Should().NotBeNull();
    }

    [Fact]
    public async Task AnExpiredKeyIsRefusedAndAPastExpiryIsNotAccepted()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        // Seconds of margin for the first call on a busy machine; the key expires in between the two calls.
        var expires = DateTimeOffset.UtcNow.AddSeconds(4);
        var (_, key) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "short-lived", "member", expires);
        using var before = await host.SendAsync(HttpMethod.Get, "/api/customers", key);
        var beforeAt = DateTimeOffset.UtcNow;
        await Task.Delay(expires - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500));

        using var after = await host.SendAsync(HttpMethod.Get, "/api/customers", key);
        using var past = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken,
            new { name = "late", expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) });

        beforeAt.Should().BeBefore(expires, "the first call must be made while the key is valid");
        before.StatusCode.Should().Be(HttpStatusCode.OK);
        after.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await after.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("expired");
        past.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await past.ProblemAsync())["errors"]!["expiresAt"].Should().NotBeNull();
    }

    [Fact]
    public async Task BadKeyRequestsAnswerWhichFieldIsWrong()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var noName = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken, new { role = "member" });
        using var badRole = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken, new { name = "x", role = "super_admin" });

        noName.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await noName.ProblemAsync())["errors"]!["name"].Should().NotBeNull();
        badRole.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await badRole.ProblemAsync())["errors"]!["role"].Should().NotBeNull();
    }

    [Fact]
    public async Task AKeyWithItsOwnRateLimitIsRefusedPastItWhileTheTenantsOtherKeysAreNot()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var created = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken,
            new { name = "partner", role = "member", rateLimitPerMinute = 3 });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var body = await created.JsonAsync();
        var (id, limited) = (body["id"]!.GetValue<string>(), body["secret"]!.GetValue<string>());
        body["rateLimitPerMinute"]!.GetValue<int>().Should().Be(3);
        var (_, unlimited) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "nightly", "member");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var admitted = await host.SendAsync(HttpMethod.Get, "/api/customers", limited);
            statuses.Add(admitted.StatusCode);
        }

        using var refused = await SendWithHeaderAsync(host, HttpMethod.Get, "/api/customers", limited);
        var others = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var other = await host.SendAsync(HttpMethod.Get, "/api/customers", unlimited);
            others.Add(other.StatusCode);
        }

        statuses.Should().AllBeEquivalentTo(HttpStatusCode.OK, "a minute's worth (3) is the key's burst");
        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "the fourth request in the minute is past the key's own limit");
        var problem = await refused.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("rate-limited"));
        problem["detail"]!.GetValue<string>().Should().Contain("API key's own rate limit (3 requests a minute)");
        int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture).Should().BeInRange(1, 20,
            "one request comes back every 20 s");
        others.Should().AllBeEquivalentTo(HttpStatusCode.OK, "another key of the tenant shares only the tenant's limit");

        using var list = await host.SendAsync(HttpMethod.Get, "/api/api-keys", tenant.Admin.AccessToken);
        var items = (await list.JsonAsync())["items"]!.AsArray();
        items.Single(k => k!["id"]!.GetValue<string>() == id)!["rateLimitPerMinute"]!.GetValue<int>().Should().Be(3);
        items.Single(k => k!["name"]!.GetValue<string>() == "nightly")!["rateLimitPerMinute"].Should().BeNull();
        (await RowAsync(host, id))["rate_limit_per_minute"].Should().Be(3);
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?action=api_key.created&targetId={id}", tenant.Admin.AccessToken);
        (await audit.JsonAsync())["items"]![0]!["details"]!["rateLimitPerMinute"]!.GetValue<int>().Should().Be(3);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1_000_001)]
    public async Task AKeysRateLimitOutOfRangeIsRefusedNamingTheField(int perMinute)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/api-keys", tenant.Admin.AccessToken, new { name = "x", rateLimitPerMinute = perMinute });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ProblemAsync())["errors"]!["rateLimitPerMinute"].Should().NotBeNull();
        (await CountAsync(host, "SELECT count(*) FROM api_keys WHERE tenant_id = $1", tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task ASuspendedTenantsKeysAreRefusedLikeItsUsersAndWorkAgainAfterReactivation()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var (_, key) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "job", "member");
        (await TenantLifecycleTests.ApplyAsync(host, tenant.Id, "suspend")).EnsureSuccessStatusCode().Dispose();

        using var byKey = await host.SendAsync(HttpMethod.Get, "/api/customers", key);
        using var byUser = await host.SendAsync(HttpMethod.Get, "/api/customers", tenant.Admin.AccessToken);
        (await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/reactivate")).EnsureSuccessStatusCode().Dispose();
        using var again = await host.SendAsync(HttpMethod.Get, "/api/customers", key);

        byKey.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await byKey.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("tenant-suspended"));
        byUser.StatusCode.Should().Be(byKey.StatusCode);
        again.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ASuperAdminListsAndRevokesAnyTenantsKeysAndAnUnknownTenantIsNotFound()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var super = await host.SharedSuperAdminTokenAsync();
        var (id, key) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "watched", "member");

        using var list = await host.SendAsync(HttpMethod.Get, $"/api/admin/tenants/{tenant.Id}/api-keys", super);
        using var revoke = await host.SendAsync(HttpMethod.Delete, $"/api/admin/tenants/{tenant.Id}/api-keys/{id}", super);
        using var after = await host.SendAsync(HttpMethod.Get, "/api/customers", key);
        using var unknown = await host.SendAsync(HttpMethod.Get, $"/api/admin/tenants/{Guid.NewGuid()}/api-keys", super);

        list.StatusCode.Should().Be(HttpStatusCode.OK);
        (await list.JsonAsync())["items"]!.AsArray().Select(k => k!["id"]!.GetValue<string>()).Should().Contain(id);
        revoke.StatusCode.Should().Be(HttpStatusCode.OK);
        after.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AKeyInUseShowsWhenItWasLastUsedAndCostsNoLookupPerRequest()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var (id, key) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "busy", "member");
        var cache = host.Services.GetRequiredService<ApiKeyCache>();
        (await host.SendAsync(HttpMethod.Get, "/api/customers", key)).EnsureSuccessStatusCode().Dispose();

        var lookups = cache.Lookups;
        for (var i = 0; i < 100; i++)
        {
            (await host.SendAsync(HttpMethod.Get, "/api/customers", key)).EnsureSuccessStatusCode().Dispose();
        }

        var perHundred = cache.Lookups - lookups;
        using var list = await host.SendAsync(HttpMethod.Get, "/api/api-keys", tenant.Admin.AccessToken);

        // Other tests share the host and look up their own keys meanwhile: far fewer than one per request is the claim.
        perHundred.Should().BeLessThan(50);
        (await list.JsonAsync())["items"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == id)!["lastUsedAt"].Should().NotBeNull();
    }

    [Fact]
    public async Task AHardDeletedTenantsKeysAreRemovedAndRefused()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var (id, key) = await CreateKeyAsync(host, tenant.Admin.AccessToken, "gone", "member");

        using var delete = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenant.Id}/delete", new { hardDelete = true, force = true });
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        using var after = await host.SendAsync(HttpMethod.Get, "/api/customers", key);

        delete.StatusCode.Should().Be(HttpStatusCode.OK);
        (await CountAsync(host, "SELECT count(*) FROM api_keys WHERE tenant_id = $1", tenant.Id)).Should().Be(0);
        after.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the key's row went with the tenant ({0})", id);
    }

    private static async Task<(string Id, string Secret)> CreateKeyAsync(ApiHost host, string token, string name, string role, DateTimeOffset? expiresAt = null)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/api-keys", token, new { name, role, expiresAt });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.JsonAsync();
        return (body["id"]!.GetValue<string>(), body["secret"]!.GetValue<string>());
    }

    private static async Task<HttpResponseMessage> SendWithHeaderAsync(ApiHost host, HttpMethod method, string path, string key)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Api-Key", key);
        return await host.Client.SendAsync(request);
    }

    private static async Task<Dictionary<string, object?>> RowAsync(ApiHost host, string id)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT * FROM api_keys WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(id) });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();
        return Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i));
    }

    private static async Task<long> CountAsync(ApiHost host, string sql, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
