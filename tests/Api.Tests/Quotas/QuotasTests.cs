using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Quotas;

public sealed class QuotasTests
{
    [Fact]
    public async Task TwentyParallelCreatesWithRoomForTenCreateExactlyTen()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await OverrideAsync(host, tenant.Id, new { customers = 10 });

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = $"race {i}" });
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        results.Count(r => r.StatusCode == HttpStatusCode.Created).Should().Be(10);
        var refused = results.Where(r => r.StatusCode != HttpStatusCode.Created).ToList();
        refused.Should().HaveCount(10).And.AllSatisfy(r => r.StatusCode.Should().Be(HttpStatusCode.Forbidden));
        var problem = JsonNode.Parse(refused[0].Body)!;
        problem["type"]!.GetValue<string>().Should().EndWith("/quota-exceeded");
        problem["quota"]!.GetValue<string>().Should().Be("customers");
        problem["limit"]!.GetValue<long>().Should().Be(10);
        problem["used"]!.GetValue<long>().Should().Be(10);
        (await CommittedAsync(host, tenant.Id, "customers")).Should().Be(10);
        (await QuotasAsync(host, tenant.Admin.AccessToken))["quotas"]!["customers"]!["used"]!.GetValue<long>().Should().Be(10);
    }

    [Fact]
    public async Task ParallelUserCreatesStopExactlyAtTheUserQuota()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await OverrideAsync(host, tenant.Id, new { users = 4 });

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
                new { email = $"u{i}-{Guid.NewGuid():N}@quota.test", name = "U", password = "password-123", role = "member" });
            return response.StatusCode;
        }));

        results.Count(s => s == HttpStatusCode.Created).Should().Be(3);
        (await CommittedAsync(host, tenant.Id, "users")).Should().Be(4);
    }

    [Fact]
    public async Task StorageIsCountedOnEveryWriteAndDeleteAndEnforced()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var before = (await QuotasAsync(host, tenant.Admin.AccessToken))["quotas"]!["storageBytes"]!["used"]!.GetValue<long>();
        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Sized", notes = new string('n', 1000) });
        var id = (await created.JsonAsync())["id"]!.GetValue<string>();
        var afterCreate = (await QuotasAsync(host, tenant.Admin.AccessToken))["quotas"]!["storageBytes"]!["used"]!.GetValue<long>();
        using (var delete = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{id}", tenant.Admin.AccessToken))
        {
            delete.EnsureSuccessStatusCode();
        }

        var afterDelete = (await QuotasAsync(host, tenant.Admin.AccessToken))["quotas"]!["storageBytes"]!["used"]!.GetValue<long>();
        await OverrideAsync(host, tenant.Id, new { storageBytes = afterDelete + 500 });
        using var tooBig = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "Big", notes = new string('n', 1000) });

        (afterCreate - before).Should().Be(100 + 5 + 1000);
        afterDelete.Should().Be(before);
        tooBig.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await tooBig.ProblemAsync())["quota"]!.GetValue<string>().Should().Be("storageBytes");
    }

    [Fact]
    public async Task QuotasShowPlanLimitsUsageAndTheMonthlyReset()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync("free");

        var quotas = await QuotasAsync(host, tenant.Admin.AccessToken);
        using var asOperator = await host.SendAsync(HttpMethod.Get, $"/api/tenants/quotas?tenantId={tenant.Id}", await host.SharedSuperAdminTokenAsync());

        quotas["plan"]!.GetValue<string>().Should().Be("free");
        quotas["quotas"]!["users"]!["used"]!.GetValue<long>().Should().Be(1);
        quotas["quotas"]!["users"]!["limit"]!.GetValue<long>().Should().Be(3);
        quotas["quotas"]!["apiCallsMonthly"]!["used"]!.GetValue<long>().Should().BePositive();
        var resets = quotas["quotas"]!["apiCallsMonthly"]!["resetsAt"]!.GetValue<DateTimeOffset>();
        resets.Day.Should().Be(1);
        resets.TimeOfDay.Should().Be(TimeSpan.Zero);
        quotas["rateLimit"]!["perSecond"]!.GetValue<double>().Should().BePositive();
        quotas["overrides"]!.AsArray().Should().BeEmpty();
        asOperator.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OnlyTheTenantsAdminsAndSuperAdminsSeeItsQuotas()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(a);

        using var foreign = await host.SendAsync(HttpMethod.Get, $"/api/tenants/quotas?tenantId={b.Id}", a.Admin.AccessToken);
        using var byMember = await host.SendAsync(HttpMethod.Get, "/api/tenants/quotas", member.AccessToken);
        using var operatorWithoutTenant = await host.SendAsync(HttpMethod.Get, "/api/tenants/quotas", await host.SharedSuperAdminTokenAsync());
        using var setByAdmin = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{a.Id}/quotas", a.Admin.AccessToken, new { customers = 1_000_000 });

        foreign.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        byMember.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        operatorWithoutTenant.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        setByAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ADowngradeBelowUsageIsAllowedThenGrowthIsRefusedAndACriticalAlertRaised()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        for (var i = 0; i < 4; i++)
        {
            await host.AddUserAsync(tenant);
        }

        using var downgrade = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{tenant.Id}/plan", await host.SharedSuperAdminTokenAsync(), new { plan = "free" });
        using var grow = await host.SendAsync(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken,
            new { email = $"late-{Guid.NewGuid():N}@quota.test", name = "Late", password = "password-123", role = "member" });
        await FlushAsync(host, tenant.Id);
        var alerts = await AlertsAsync(host, tenant.Admin.AccessToken);

        downgrade.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await downgrade.JsonAsync();
        body["plan"]!.GetValue<string>().Should().Be("free");
        body["quotas"]!["users"]!["used"]!.GetValue<long>().Should().Be(5);
        body["quotas"]!["users"]!["percent"]!.GetValue<double>().Should().BeGreaterThan(100);
        grow.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        alerts.Should().Contain(a => a!["metric"]!.GetValue<string>() == "users" && a["level"]!.GetValue<string>() == "critical");
        (await host.RunbookTenantAsync(tenant.Id))!.Plan.Should().Be("free");
    }

    [Fact]
    public async Task QuotaAlertsAppearAt80PercentEscalateAt95AndClearByThemselves()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await OverrideAsync(host, tenant.Id, new { customers = 10 });
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = $"a{i}" });
            ids.Add((await created.JsonAsync())["id"]!.GetValue<string>());
        }

        await FlushAsync(host, tenant.Id);
        var warning = (await AlertsAsync(host, tenant.Admin.AccessToken)).Single(a => a!["metric"]!.GetValue<string>() == "customers")!;
        for (var i = 8; i < 10; i++)
        {
            using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = $"a{i}" });
            ids.Add((await created.JsonAsync())["id"]!.GetValue<string>());
        }

        await FlushAsync(host, tenant.Id);
        var critical = (await AlertsAsync(host, tenant.Admin.AccessToken)).Single(a => a!["metric"]!.GetValue<string>() == "customers")!;
        using (var adminView = await host.SendAsync(HttpMethod.Get, $"/api/admin/alerts?tenantId={tenant.Id}&level=critical", await host.SharedSuperAdminTokenAsync()))
        {
            (await adminView.JsonAsync())["items"]!.AsArray().Should().Contain(a => a!["metric"]!.GetValue<string>() == "customers");
        }

        foreach (var id in ids.Take(5))
        {
            using var deleted = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{id}", tenant.Admin.AccessToken);
        }

        await FlushAsync(host, tenant.Id);
        var after = await AlertsAsync(host, tenant.Admin.AccessToken);

        warning["level"]!.GetValue<string>().Should().Be("warning");
        warning["value"]!.GetValue<double>().Should().Be(80);
        warning["threshold"]!.GetValue<double>().Should().Be(80);
        warning["tenantName"]!.GetValue<string>().Should().Be(tenant.Name);
        critical["level"]!.GetValue<string>().Should().Be("critical");
        critical["id"]!.GetValue<string>().Should().Be(warning["id"]!.GetValue<string>());
        critical["since"]!.GetValue<DateTimeOffset>().Should().Be(warning["since"]!.GetValue<DateTimeOffset>());
        after.Should().NotContain(a => a!["metric"]!.GetValue<string>() == "customers");
        (await ClearedAlertsAsync(host, tenant.Id, "customers")).Should().Be(1);
    }

    [Fact]
    public async Task OverridesAreSetAndRemovedWithAReasonAndAreAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var operatorToken = await host.SharedSuperAdminTokenAsync();

        using var set = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{tenant.Id}/quotas", operatorToken,
            new { customers = 123, apiCallsMonthly = 999_999, expiresAt = DateTimeOffset.UtcNow.AddDays(7), reason = "launch week" });
        using var removed = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{tenant.Id}/quotas", operatorToken,
            new JsonObject { ["customers"] = null });
        using var invalid = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{tenant.Id}/quotas", operatorToken,
            new { customers = -1, colour = "red", expiresAt = "2001-01-01T00:00:00Z" });
        using var missing = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{Guid.NewGuid()}/quotas", operatorToken, new { customers = 1 });

        set.StatusCode.Should().Be(HttpStatusCode.OK);
        var setBody = await set.JsonAsync();
        var overrides = setBody["overrides"]!.AsArray();
        overrides.Select(o => o!["quota"]!.GetValue<string>()).Should().BeEquivalentTo("apiCallsMonthly", "customers");
        overrides.Should().AllSatisfy(o => o!["reason"]!.GetValue<string>().Should().Be("launch week"));
        setBody["quotas"]!["customers"]!["limit"]!.GetValue<long>().Should().Be(123);
        var afterRemove = await removed.JsonAsync();
        afterRemove["overrides"]!.AsArray().Select(o => o!["quota"]!.GetValue<string>()).Should().Equal("apiCallsMonthly");
        afterRemove["quotas"]!["customers"]!["limit"]!.GetValue<long>().Should().Be(50_000);
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await invalid.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("customers", "colour", "expiresAt");
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=tenant.quota_overridden", tenant.Admin.AccessToken);
        (await audit.JsonAsync())["items"]!.AsArray().Should().HaveCount(2);
    }

    [Fact]
    public async Task TheMonthlyApiCallQuotaRefusesCallsAndTheManualResetRestoresThem()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var used = (await QuotasAsync(host, tenant.Admin.AccessToken))["quotas"]!["apiCallsMonthly"]!["used"]!.GetValue<long>();
        await OverrideAsync(host, tenant.Id, new { apiCallsMonthly = used + 2 });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);
            statuses.Add(response.StatusCode);
        }

        using var refused = await host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);
        using var reset = await host.SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant.Id}/quotas/reset", await host.SharedSuperAdminTokenAsync());
        using var again = await host.SendAsync(HttpMethod.Get, "/api/users", tenant.Admin.AccessToken);

        statuses.Count(s => s == HttpStatusCode.OK).Should().Be(2);
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var problem = await refused.ProblemAsync();
        problem["quota"]!.GetValue<string>().Should().Be("apiCallsMonthly");
        reset.StatusCode.Should().Be(HttpStatusCode.OK);
        (await reset.JsonAsync())["quotas"]!["apiCallsMonthly"]!["used"]!.GetValue<long>().Should().Be(0);
        again.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ThrottlingOneTenantGives429WithRetryAfterAndLeavesOthersAlone()
    {
        var host = await ApiHost.SharedAsync();
        var noisy = await host.ProvisionTenantAsync();
        var quiet = await host.ProvisionTenantAsync();
        await OverrideAsync(host, noisy.Id, new { rateLimitPerSecond = 1 });

        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            statuses.Add(await host.SendAsync(HttpMethod.Get, "/api/users", noisy.Admin.AccessToken));
        }

        using var other = await host.SendAsync(HttpMethod.Get, "/api/users", quiet.Admin.AccessToken);
        var limited = statuses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        var retryAfter = limited.Headers.RetryAfter!.Delta!.Value;
        await Task.Delay(retryAfter + TimeSpan.FromMilliseconds(200));
        using var recovered = await host.SendAsync(HttpMethod.Get, "/api/users", noisy.Admin.AccessToken);

        (await limited.ProblemAsync())["type"]!.GetValue<string>().Should().EndWith("/rate-limited");
        retryAfter.Should().BeGreaterThan(TimeSpan.Zero);
        other.StatusCode.Should().Be(HttpStatusCode.OK);
        recovered.StatusCode.Should().Be(HttpStatusCode.OK);
        statuses.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task CountsAreExactAfterARestartAndTheUsageTableHoldsTheMeteredCalls()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        // Custom field values count too (keys and value texts), on customers, contacts and deals, written, changed and imported.
        await CustomFields.CustomFieldsTests.DefineAsync(host, tenant.Admin.AccessToken, "customers",
            new { key = "industry", label = "Industry", type = "text" }, new { key = "size", label = "Size", type = "number" },
            new { key = "since", label = "Since", type = "date" }, new { key = "tier", label = "Tier", type = "select", options = new[] { "Gold" } },
            new { key = "active", label = "Active", type = "boolean" });
        await CustomFields.CustomFieldsTests.DefineAsync(host, tenant.Admin.AccessToken, "contacts", new { key = "role", label = "Role", type = "text" });
        await CustomFields.CustomFieldsTests.DefineAsync(host, tenant.Admin.AccessToken, "deals", new { key = "score", label = "Score", type = "number" });
        for (var i = 0; i < 3; i++)
        {
            using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new
            {
                name = $"kept {i}", notes = "ü", tags = new[] { "größe", $"t{i}", "日本" }, customFields = new { industry = "Bäckerei", size = 1.50m + i, since = "2024-02-29", tier = "Gold", active = i == 0 },
            });
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        using (var imported = await Contacts.ImportTests.PostCsvAsync(host, "/api/imports/customers", tenant.Admin.AccessToken,
            "name,cf.industry,cf.size\nImported,Schmiede,-0.000001\n"))
        {
            imported.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        // Contacts count towards storage too: the meter's running count and the restart's recount from the rows must agree.
        using (var contact = await host.SendAsync(HttpMethod.Post, "/api/contacts", tenant.Admin.AccessToken,
            new { firstName = "Zoë", lastName = "Kept", email = "zoe@example.com", title = "CFO", tags = new[] { "ü" }, notes = "ß", customFields = new { role = "Chefin" } }))
        {
            contact.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        // Deals as well: their name, currency and contact links, through a create, an update and a delete.
        var customer = await Contacts.ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, "Dealt");
        var linked = await Contacts.ContactsTests.CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Linked", customerId = customer });
        var deal = (await Deals.DealsTests.CreateDealAsync(host, tenant.Admin.AccessToken,
            new { name = "Große Sache", customerId = customer, contactIds = new[] { linked }, amount = 0.1m, currency = "EUR", customFields = new { score = 1 } }))["id"]!.GetValue<string>();
        await Deals.DealsTests.UpdateAsync(host, tenant.Admin.AccessToken, deal,
            new { name = "Größere Sache", customerId = customer, contactIds = new[] { linked }, amount = 0.2m, currency = "EUR", customFields = new { score = 123.25m } });
        var removed = (await Deals.DealsTests.CreateDealAsync(host, tenant.Admin.AccessToken, Deals.DealsTests.Deal(customer, "Removed", 1m)))["id"]!.GetValue<string>();
        using (var deleted = await host.SendAsync(HttpMethod.Delete, $"/api/deals/{removed}", tenant.Admin.AccessToken))
        {
            deleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        var before = (await QuotasAsync(host, tenant.Admin.AccessToken))["quotas"]!;
        await FlushAsync(host, tenant.Id);
        await using var restarted = await ApiHost.StartAsync(host.Database);
        var admin = await restarted.LoginAsync(tenant.AdminEmail, tenant.AdminPassword);

        var after = (await QuotasAsync(restarted, admin.AccessToken))["quotas"]!;

        foreach (var quota in new[] { "customers", "users", "storageBytes" })
        {
            after[quota]!["used"]!.GetValue<long>().Should().Be(before[quota]!["used"]!.GetValue<long>(), quota);
        }

        after["apiCallsMonthly"]!["used"]!.GetValue<long>().Should().BeGreaterThanOrEqualTo(before["apiCallsMonthly"]!["used"]!.GetValue<long>());
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var runbook = new NpgsqlCommand($"SELECT * FROM tenant_usage_metrics WHERE tenant_id = '{tenant.Id}'", connection);
        await using var reader = await runbook.ExecuteReaderAsync();
        var periods = new List<string>();
        while (await reader.ReadAsync())
        {
            periods.Add(reader.GetString(reader.GetOrdinal("period")));
        }

        periods.Should().Contain(["day", "month"]);
    }

    [Fact]
    public async Task UsageReportsCountsActiveUsersErrorRatesLatencyAndHistory()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        using (var missing = await host.SendAsync(HttpMethod.Get, $"/api/customers/{Guid.NewGuid()}", tenant.Admin.AccessToken))
        {
            missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await FlushAsync(host, tenant.Id);

        using var response = await host.SendAsync(HttpMethod.Get, "/api/tenants/usage", tenant.Admin.AccessToken);

        var usage = await response.JsonAsync();
        usage["users"]!.GetValue<long>().Should().Be(1);
        usage["activeUsers"]!["last24h"]!.GetValue<long>().Should().Be(1);
        usage["apiCallsThisMonth"]!.GetValue<long>().Should().BePositive();
        usage["errorRate"]!["last5m"]!["requests"]!.GetValue<long>().Should().BePositive();
        usage["errorRate"]!["last5m"]!["clientErrorPercent"]!.GetValue<double>().Should().BePositive();
        usage["latencyMs"]!["p50"]!.GetValue<double>().Should().BePositive();
        usage["history"]!.AsArray().Should().ContainSingle();
    }

    [Fact]
    public async Task OperatorsSeeSystemMetricsAndAPerTenantTableSortedByAnyMetric()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await FlushAsync(host, tenant.Id);
        var token = await host.SharedSuperAdminTokenAsync();

        using var metrics = await host.SendAsync(HttpMethod.Get, "/api/admin/metrics?sort=users&order=desc", token);
        using var invalid = await host.SendAsync(HttpMethod.Get, "/api/admin/metrics?sort=shoeSize", token);
        using var prometheus = await host.Client.GetAsync("/metrics");

        var body = await metrics.JsonAsync();
        body["tenants"]!["byStatus"]!["active"]!.GetValue<long>().Should().BePositive();
        body["node"]!["workingSetBytes"]!.GetValue<long>().Should().BePositive();
        body["node"]!["threadPool"]!["threads"]!.GetValue<int>().Should().BePositive();
        body["database"]!["connections"]!["total"]!.GetValue<long>().Should().BePositive();
        var rows = body["perTenant"]!.AsArray();
        rows.Should().Contain(r => r!["tenantId"]!.GetValue<string>() == tenant.Id.ToString());
        rows.Select(r => r!["users"]!.GetValue<long>()).Should().BeInDescendingOrder();
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var scrape = PrometheusText.Parse(await prometheus.Content.ReadAsStringAsync());
        scrape.Value("shohayota_http_requests_total", ("class", "all")).Should().BePositive();
        scrape.Value("shohayota_tenants", ("status", "active")).Should().BePositive();
        scrape.Find("shohayota_tenant_api_calls_month").Should().NotBeEmpty();
    }

    internal static async Task OverrideAsync(ApiHost host, Guid tenant, object overrides)
    {
        using var response = await host.SendAsync(HttpMethod.Put, $"/api/admin/tenants/{tenant}/quotas", await host.SharedSuperAdminTokenAsync(), overrides);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    internal static async Task<JsonObject> QuotasAsync(ApiHost host, string token)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/api/tenants/quotas", token);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    internal static async Task<List<JsonNode?>> AlertsAsync(ApiHost host, string token)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/api/tenants/alerts", token);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return (await response.JsonAsync())["items"]!.AsArray().ToList();
    }

    internal static async Task FlushAsync(ApiHost host, Guid tenant)
    {
        host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        await host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant)).FlushAsync();
        RequestContext.Clear();
    }

    private static async Task<long> CommittedAsync(ApiHost host, Guid tenant, string table)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE tenant_id = '{tenant}'", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<long> ClearedAlertsAsync(ApiHost host, Guid tenant, string metric)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            $"SELECT count(*) FROM tenant_alerts WHERE tenant_id = '{tenant}' AND metric = '{metric}' AND cleared_at IS NOT NULL", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
