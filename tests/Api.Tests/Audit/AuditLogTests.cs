using System.Net;
using System.Text.Json.Nodes;
using System.Security.Cryptography;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Interfaces.Audit;

namespace Shohayota.Api.Tests.Audit;

public sealed class AuditLogTests
{
    [Fact]
    public async Task ConcurrentWritesGetExactlyOneEntryEachWithAGapFreeVerifiedChain()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        var creates = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = $"c{i}" });
            return (response.StatusCode, (await response.JsonAsync())["id"]?.GetValue<string>());
        }));

        creates.Should().AllSatisfy(c => c.StatusCode.Should().Be(HttpStatusCode.Created));
        var entries = await AllEntriesAsync(host, tenant.Admin.AccessToken, "customer.created");
        entries.Select(e => e["target"]!["id"]!.GetValue<string>()).Should().BeEquivalentTo(creates.Select(c => c.Item2));
        var seqs = (await AllEntriesAsync(host, tenant.Admin.AccessToken, null)).Select(e => e["seq"]!.GetValue<long>()).Order().ToList();
        seqs.Should().Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i));
        var verify = await VerifyAsync(host, tenant.Admin.AccessToken, null);
        verify["valid"]!.GetValue<bool>().Should().BeTrue();
        verify["entries"]!.GetValue<long>().Should().Be(seqs.Count);
    }

    [Fact]
    public async Task RefusedWritesAmongConcurrentOnesLeaveOnlyTheCommittedEntriesAndAGapFreeChain()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var foreignOwner = b.Admin.Body["user"]!["id"]!.GetValue<string>();

        // Every fifth create names another tenant's user as owner: the database refuses it inside a batch of good ones.
        var creates = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            object body = i % 5 == 0 ? new { name = $"r{i}", ownerUserId = foreignOwner } : new { name = $"r{i}" };
            using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken, body);
            return (i, response.StatusCode, (await response.JsonAsync())["id"]?.GetValue<string>());
        }));

        creates.Where(c => c.i % 5 == 0).Should().AllSatisfy(c => c.StatusCode.Should().Be(HttpStatusCode.BadRequest));
        creates.Where(c => c.i % 5 != 0).Should().AllSatisfy(c => c.StatusCode.Should().Be(HttpStatusCode.Created));
        var entries = await AllEntriesAsync(host, a.Admin.AccessToken, "customer.created");
        entries.Select(e => e["target"]!["id"]!.GetValue<string>()).Should().BeEquivalentTo(creates.Where(c => c.i % 5 != 0).Select(c => c.Item3));
        var seqs = (await AllEntriesAsync(host, a.Admin.AccessToken, null)).Select(e => e["seq"]!.GetValue<long>()).Order().ToList();
        seqs.Should().Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i));
        (await VerifyAsync(host, a.Admin.AccessToken, null))["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task AFailedWriteLeavesNoSuccessEntry()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var foreignOwner = b.Admin.Body["user"]!["id"]!.GetValue<string>();

        using var refused = await host.SendAsync(HttpMethod.Post, "/api/customers", a.Admin.AccessToken, new { name = "x", ownerUserId = foreignOwner });

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await AllEntriesAsync(host, a.Admin.AccessToken, "customer.")).Should().BeEmpty();
        (await VerifyAsync(host, a.Admin.AccessToken, null))["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task TamperingWithARowIsReportedAtItsSeq()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        for (var i = 0; i < 3; i++)
        {
            using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = $"t{i}" });
        }

        await using (var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString))
        {
            await connection.OpenAsync();
            await using var tamper = new NpgsqlCommand("UPDATE audit_logs SET actor_email = 'someone@else.test' WHERE tenant_id = $1 AND seq = 3", connection);
            tamper.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            (await tamper.ExecuteNonQueryAsync()).Should().Be(1);
        }

        var verify = await VerifyAsync(host, tenant.Admin.AccessToken, null);

        verify["valid"]!.GetValue<bool>().Should().BeFalse();
        verify["brokenAtSeq"]!.GetValue<long>().Should().Be(3);
    }

    [Fact]
    public async Task ADeletedRowIsReportedAsAGap()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using (var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "gap" }))
        {
            created.EnsureSuccessStatusCode();
        }

        await using (var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString))
        {
            await connection.OpenAsync();
            await using var delete = new NpgsqlCommand("DELETE FROM audit_logs WHERE tenant_id = $1 AND seq = 2", connection);
            delete.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            await delete.ExecuteNonQueryAsync();
        }

        var verify = await VerifyAsync(host, tenant.Admin.AccessToken, null);

        verify["valid"]!.GetValue<bool>().Should().BeFalse();
        verify["brokenAtSeq"]!.GetValue<long>().Should().Be(2);
    }

    [Fact]
    public async Task TenantAdminsReadOnlyTheirOwnLogAndMembersNone()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(a);

        using var foreign = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?tenantId={b.Id}", a.Admin.AccessToken);
        using var foreignVerify = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs/verify?tenantId={b.Id}", a.Admin.AccessToken);
        using var byMember = await host.SendAsync(HttpMethod.Get, "/api/audit-logs", member.AccessToken);
        using var own = await host.SendAsync(HttpMethod.Get, "/api/audit-logs", a.Admin.AccessToken);

        foreign.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        foreignVerify.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        byMember.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        own.StatusCode.Should().Be(HttpStatusCode.OK);
        (await own.JsonAsync())["items"]!.AsArray().Should().AllSatisfy(e => e!["tenantId"]!.GetValue<string>().Should().Be(a.Id.ToString()));
    }

    [Fact]
    public async Task ProvisioningLifecycleAndSignInsAreRecordedWithActorAndOrigin()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var superToken = await host.SuperAdminTokenAsync();
        using (var failed = await host.SendAsync(HttpMethod.Post, "/api/auth/login", null, new { email = tenant.AdminEmail, password = "wrong-password" }))
        {
            failed.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        foreach (var action in new[] { "suspend", "reactivate" })
        {
            using var response = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/{action}", superToken);
            response.EnsureSuccessStatusCode();
        }

        var entries = await AllEntriesAsync(host, tenant.Admin.AccessToken, null);

        entries.Select(e => e["action"]!.GetValue<string>()).Should().Contain(
            ["tenant.provisioned", "user.created", "auth.login_succeeded", "auth.login_failed", "tenant.suspended", "tenant.reactivated"]);
        var suspended = entries.Single(e => e["action"]!.GetValue<string>() == "tenant.suspended");
        suspended["actor"]!["role"]!.GetValue<string>().Should().Be("super_admin");
        suspended["actor"]!["email"]!.GetValue<string>().Should().Be(host.SuperAdminEmail);
        suspended["details"]!["from"]!.GetValue<string>().Should().Be("active");
        suspended["ip"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        suspended["requestId"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        entries.Single(e => e["action"]!.GetValue<string>() == "auth.login_failed")["outcome"]!.GetValue<string>().Should().Be("denied");
        var system = await AllEntriesAsync(host, superToken, "tenant.", "system", tenant.Id);
        system.Select(e => e["action"]!.GetValue<string>()).Should().Contain(["tenant.provisioned", "tenant.suspended", "tenant.reactivated"]);
    }

    [Fact]
    public async Task AnUpdateRecordsOnlyTheChangedFieldsBeforeAndAfterAndNoSecretEverAppears()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Before", email = "same@x.test" });
        var id = (await created.JsonAsync())["id"]!.GetValue<string>();
        using (var updated = await host.SendAsync(HttpMethod.Put, $"/api/customers/{id}", tenant.Admin.AccessToken, new { name = "After", email = "same@x.test" }))
        {
            updated.EnsureSuccessStatusCode();
        }

        await host.AddUserAsync(tenant);
        var entries = await AllEntriesAsync(host, tenant.Admin.AccessToken, null);

        var changes = entries.Single(e => e["action"]!.GetValue<string>() == "customer.updated")["details"]!["changes"]!.AsObject();
        changes.Select(c => c.Key).Should().Equal("name");
        changes["name"]!["before"]!.GetValue<string>().Should().Be("Before");
        changes["name"]!["after"]!.GetValue<string>().Should().Be("After");
        var text = string.Join('\n', entries.Select(e => e.ToJsonString()));
        text.Should().NotContain("pbkdf2").And.NotContain("password").And.NotContain("member-password").And.NotContain(tenant.AdminPassword);
    }

    [Fact]
    public async Task OperatorReadsOfATenantsLogAppearInThatLog()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using (var read = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?tenantId={tenant.Id}", await host.SuperAdminTokenAsync()))
        {
            read.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var entries = await AllEntriesAsync(host, tenant.Admin.AccessToken, "audit.read");
        entries.Should().ContainSingle().Which["actor"]!["role"]!.GetValue<string>().Should().Be("super_admin");
    }

    [Fact]
    public async Task DeniedRequestsForAnotherTenantsIdsAreRecorded()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var foreign = Guid.NewGuid();

        using (var denied = await host.SendAsync(HttpMethod.Get, $"/api/customers/{foreign}", a.Admin.AccessToken))
        {
            denied.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        var entries = await AllEntriesAsync(host, a.Admin.AccessToken, "request.denied");
        entries.Should().ContainSingle().Which["target"]!["id"]!.GetValue<string>().Should().Be($"GET /api/customers/{foreign}");
        entries[0]["outcome"]!.GetValue<string>().Should().Be("denied");
    }

    [Fact]
    public async Task ADeniedRequestsLongPathIsCutAndDisturbsNoWrite()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        // Random, so it does not compress: whole, it would not fit the audit log's target index (2,704 bytes a row).
        var path = "/api/" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2000));

        using (var denied = await host.SendAsync(HttpMethod.Get, path, tenant.Admin.AccessToken))
        {
            denied.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "After a long path" });

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var target = (await AllEntriesAsync(host, tenant.Admin.AccessToken, "request.denied")).Should().ContainSingle()
            .Which["target"]!["id"]!.GetValue<string>();
        target.Should().HaveLength(Shohayota.Api.Audit.AuditMiddleware.MaxDeniedTargetLength).And.StartWith($"GET {path[..100]}").And.EndWith("…");
        (await AllEntriesAsync(host, tenant.Admin.AccessToken, "customer.created")).Should().ContainSingle();
    }

    [Fact]
    public async Task ADeniedRequestsPathIsKeptEscapedSoItsCutNeverSplitsACharacter()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        // An emoji (two UTF-16 units) where a cut of the decoded path would end: half of it could not be encoded as UTF-8
        // for the database. The entry keeps the path escaped, ASCII only.
        var path = "/api/" + new string('a', 245) + "\U0001F600" + new string('b', 100);

        using (var denied = await host.SendAsync(HttpMethod.Get, path, tenant.Admin.AccessToken))
        {
            denied.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "After an emoji" });

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var target = (await AllEntriesAsync(host, tenant.Admin.AccessToken, "request.denied")).Should().ContainSingle()
            .Which["target"]!["id"]!.GetValue<string>();
        target.Should().Be("GET /api/" + new string('a', 245) + "%…");
    }

    [Fact]
    public async Task TheRunbooksTestEntryIsWrittenToTheCallersLog()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var tenantEntry = await host.SendAsync(HttpMethod.Post, "/api/test/audit", tenant.Admin.AccessToken);
        using var systemEntry = await host.SendAsync(HttpMethod.Post, "/api/test/audit", await host.SuperAdminTokenAsync());

        tenantEntry.StatusCode.Should().Be(HttpStatusCode.Created);
        var body = await tenantEntry.JsonAsync();
        body["action"]!.GetValue<string>().Should().Be("audit.test");
        body["tenantId"]!.GetValue<string>().Should().Be(tenant.Id.ToString());
        (await systemEntry.JsonAsync())["tenantId"]!.GetValue<string>().Should().Be("system");
        (await AllEntriesAsync(host, tenant.Admin.AccessToken, "audit.test")).Should().ContainSingle();
    }

    [Fact]
    public async Task AMemberCannotWriteTheRunbooksTestEntry()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);

        using var refused = await host.SendAsync(HttpMethod.Post, "/api/test/audit", member.AccessToken);
        using var written = await host.SendAsync(HttpMethod.Post, "/api/test/audit", tenant.Admin.AccessToken);

        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await refused.ProblemTypeAsync()).Should().Be(HttpExtensions.ProblemType("forbidden"));
        written.StatusCode.Should().Be(HttpStatusCode.Created);
        (await AllEntriesAsync(host, tenant.Admin.AccessToken, "audit.test")).Should().ContainSingle("only the admin's call wrote an entry");
    }

    [Fact]
    public async Task IncidentsGoToTheTenantsLogAndTheSystemLogAndTheTenantAdminSeesThem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var superToken = await host.SuperAdminTokenAsync();

        using var recorded = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/incidents", superToken,
            new { title = "Cross-tenant report", description = "Investigated; no leak.", severity = "high" });
        using var invalid = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/incidents", superToken, new { severity = "whatever" });
        using var incidents = await host.SendAsync(HttpMethod.Get, "/api/tenants/incidents", tenant.Admin.AccessToken);

        recorded.StatusCode.Should().Be(HttpStatusCode.Created);
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var item = (await incidents.JsonAsync())["items"]!.AsArray().Should().ContainSingle().Subject!;
        item["title"]!.GetValue<string>().Should().Be("Cross-tenant report");
        item["severity"]!.GetValue<string>().Should().Be("high");
        (await AllEntriesAsync(host, superToken, "incident.", "system", tenant.Id)).Should().ContainSingle();
    }

    [Fact]
    public async Task TheRunbooksAuditQueryWorksAgainstTheTable()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();

        await using var query = new NpgsqlCommand($"SELECT * FROM audit_logs WHERE tenant_id = '{tenant.Id}' ORDER BY created_at DESC LIMIT 100", connection);
        await using var reader = await query.ExecuteReaderAsync();
        var actions = new List<string>();
        while (await reader.ReadAsync())
        {
            actions.Add(reader.GetString(reader.GetOrdinal("action")));
        }

        actions.Should().Contain("tenant.provisioned");
    }

    [Theory]
    [InlineData("pageSize=0")]
    [InlineData("outcome=maybe")]
    [InlineData("from=yesterday")]
    [InlineData("cursor=abc")]
    [InlineData("actorId=bob")]
    [InlineData("colour=red")]
    public async Task InvalidFiltersAre400(string query)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?{query}", tenant.Admin.AccessToken);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task AnAnchoredChainVerifiesAndReportsItsAnchors()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await WriteTestEntriesAsync(host, tenant, 2);
        await AnchorHeadsAsync(host);

        var verify = await VerifyAsync(host, tenant.Admin.AccessToken, null);

        verify["valid"]!.GetValue<bool>().Should().BeTrue();
        var anchors = verify["anchors"]!;
        anchors["checked"]!.GetValue<long>().Should().BePositive();
        anchors["matched"]!.GetValue<long>().Should().Be(anchors["checked"]!.GetValue<long>());
        anchors["lastAnchorAt"]!.GetValue<DateTimeOffset>().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ATailTheSuperuserCutOrRewroteAfterAnAnchorFailsVerification(bool reappend)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await WriteTestEntriesAsync(host, tenant, 3);
        await AnchorHeadsAsync(host);
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        var head = (long)(await ScalarAsync(connection, "SELECT max(seq) FROM audit_logs WHERE tenant_id = $1", tenant.Id))!;
        var kept = head - 2;

        await ScalarAsync(connection, "DELETE FROM audit_logs WHERE tenant_id = $1 AND seq > $2", tenant.Id, kept);
        if (reappend)
        {
            var previous = (byte[])(await ScalarAsync(connection, "SELECT hash FROM audit_logs WHERE tenant_id = $1 AND seq = $2", tenant.Id, kept))!;
            for (var seq = kept + 1; seq <= head; seq++)
            {
                previous = await InsertConsistentEntryAsync(connection, tenant.Id, seq, previous);
            }
        }

        var verify = await VerifyAsync(host, tenant.Admin.AccessToken, null);

        verify["valid"]!.GetValue<bool>().Should().BeFalse();
        verify["brokenAtSeq"]!.GetValue<long>().Should().BeInRange(kept + 1, head);
        verify["problem"]!.GetValue<string>().Should().Contain("anchor");
        verify["anchors"]!["matched"]!.GetValue<long>().Should().BeLessThan(verify["anchors"]!["checked"]!.GetValue<long>());
    }

    [Fact]
    public async Task AnEntryTheRuntimeRoleInventsIsAppendedButVerificationCatchesIt()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await WriteTestEntriesAsync(host, tenant, 1);
        long invented;
        await using (var connection = new NpgsqlConnection(host.Database.AppConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await ScalarAsync(connection, "SELECT set_config('app.tenant_id', $1, true)", tenant.Id.ToString());
            invented = (long)(await ScalarAsync(connection, "SELECT max(seq) FROM audit_logs"))! + 1;
            var previous = (byte[])(await ScalarAsync(connection, "SELECT hash FROM audit_logs WHERE seq = $1", invented - 1))!;
            await ScalarAsync(connection,
                "INSERT INTO audit_logs (tenant_id, seq, id, created_at, action, outcome, prev_hash, hash) VALUES ($1, $2, $3, now(), 'customer.deleted', 'success', $4, $5)",
                tenant.Id, invented, Guid.NewGuid(), previous, RandomNumberGenerator.GetBytes(32));
            await transaction.CommitAsync();
        }

        var verify = await VerifyAsync(host, tenant.Admin.AccessToken, null);

        verify["valid"]!.GetValue<bool>().Should().BeFalse();
        verify["brokenAtSeq"]!.GetValue<long>().Should().Be(invented);
    }

    private static async Task WriteTestEntriesAsync(ApiHost host, TestTenant tenant, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var written = await host.SendAsync(HttpMethod.Post, "/api/test/audit", tenant.Admin.AccessToken);
            written.StatusCode.Should().Be(HttpStatusCode.Created);
        }
    }

    /// <summary>What the daily job and every backup do: the database anchors every chain's head, as the runtime role.</summary>
    private static async Task AnchorHeadsAsync(ApiHost host)
    {
        await using var connection = new NpgsqlConnection(host.Database.AppConnectionString);
        await connection.OpenAsync();
        await ScalarAsync(connection, "SELECT audit_anchor_heads('test')");
    }

    /// <summary>An entry whose hash is right for its content and predecessor: what someone rewriting the chain would write.</summary>
    private static async Task<byte[]> InsertConsistentEntryAsync(NpgsqlConnection connection, Guid tenant, long seq, byte[] previous)
    {
        var now = DateTimeOffset.UtcNow;
        var at = new DateTimeOffset(now.Ticks - (now.Ticks % 10), TimeSpan.Zero);
        var entry = new AuditEntry(Guid.NewGuid(), tenant, seq, at, new AuditActor(null, null, "system"), "audit.test", "audit", null, "success",
            null, null, null, null, previous, []);
        entry = entry with { Hash = AuditChain.Hash(entry, previous) };
        await ScalarAsync(connection,
            """
            INSERT INTO audit_logs (tenant_id, seq, id, created_at, actor_role, action, target_type, outcome, prev_hash, hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            tenant, seq, entry.Id, entry.At, entry.Actor.Role, entry.Action, entry.TargetType, entry.Outcome, entry.PrevHash, entry.Hash);
        return entry.Hash;
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, params object?[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        return await command.ExecuteScalarAsync();
    }

    private static async Task<List<JsonNode>> AllEntriesAsync(ApiHost host, string token, string? action, string? tenantId = null, Guid? targetId = null)
    {
        var entries = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var query = new List<string> { "pageSize=200" };
            if (action is not null)
            {
                query.Add($"action={action}");
            }

            if (tenantId is not null)
            {
                query.Add($"tenantId={tenantId}");
            }

            if (targetId is not null)
            {
                query.Add($"targetId={targetId}");
            }

            if (cursor is not null)
            {
                query.Add($"cursor={cursor}");
            }

            using var response = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?" + string.Join('&', query), token);
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var page = await response.JsonAsync();
            entries.AddRange(page["items"]!.AsArray().Select(e => e!));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        return entries;
    }

    private static async Task<JsonObject> VerifyAsync(ApiHost host, string token, Guid? tenantId)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify" + (tenantId is null ? "" : $"?tenantId={tenantId}"), token);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.JsonAsync();
    }
}
