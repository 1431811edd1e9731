using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Backups;

/// <summary>The retention purge on a clock the tests move; each test drains what it made due, so the next one starts clean.</summary>
public sealed class RetentionPurgeTests(BackupHost fixture) : IClassFixture<BackupHost>
{
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task NothingIsPurgedOneSecondBeforeRetentionEndsAndTheTenantIsPurgedRightAfter()
    {
        var id = await _host.ProvisionIdAsync(TenantBody.New());
        using (var backup = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync(), new { kind = "full" }))
        {
            backup.EnsureSuccessStatusCode();
        }

        var until = await CancelAsync(id);

        _clock.Advance(until - _clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        var early = await RunAsync(dryRun: null);
        var stillThere = await _host.RunbookTenantAsync(id);
        _clock.Advance(TimeSpan.FromSeconds(2));
        var due = await RunAsync(dryRun: null);

        early.Should().NotContain(t => t["tenantId"]!.GetValue<string>() == id.ToString());
        stillThere.Should().NotBeNull();
        var purged = due.Single(t => t["tenantId"]!.GetValue<string>() == id.ToString());
        purged["action"]!.GetValue<string>().Should().Be("purged");
        (await _host.RunbookTenantAsync(id)).Should().BeNull();
        var finalExport = Path.Combine(fixture.BackupDirectory, purged["finalExport"]!.GetValue<string>());
        var bytes = await File.ReadAllBytesAsync(finalExport);
        Bundles.Parse(bytes)["tenant"]!["id"]!.GetValue<string>().Should().Be(id.ToString());
        Bundles.Parse(bytes)["checksum"]!["value"]!.GetValue<string>().Should().Be(Bundles.ComputeChecksum(bytes));
        var certificate = await CertificateAsync(id);
        certificate["reason"]!.GetValue<string>().Should().Be("retention-ended");
        certificate["deletedBy"]!["role"]!.GetValue<string>().Should().Be("system");
        certificate["rowsRemoved"]!["users"]!.GetValue<long>().Should().Be(1);
        certificate["rowsRemoved"]!["audit_logs"]!.GetValue<long>().Should().BePositive();
        certificate["finalExports"]!.AsArray().Should().ContainSingle();
        certificate["backups"]!.AsArray().Should().NotBeEmpty();
        certificate["dataHeldUntil"]!.GetValue<DateTimeOffset>().Should().BeAfter(_clock.GetUtcNow());
    }

    [Fact]
    public async Task APurgedTenantsContactsAreInItsFinalExportAndNoLongerInTheDatabase()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var customer = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Purged" });
        var contact = await Bundles.CreateContactAsync(_host, tenant.Admin.AccessToken, new { lastName = "Purged", customerId = customer, tags = new[] { "kept" } });
        var until = await CancelAsync(tenant.Id);
        _clock.Advance(until - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        var purged = (await RunAsync(dryRun: null)).Single(t => t["tenantId"]!.GetValue<string>() == tenant.Id.ToString());

        purged["action"]!.GetValue<string>().Should().Be("purged");
        var final = Bundles.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.BackupDirectory, purged["finalExport"]!.GetValue<string>())));
        var exported = final["contacts"]!.AsArray().Should().ContainSingle().Subject!;
        exported["id"]!.GetValue<string>().Should().Be(contact);
        exported["customerId"]!.GetValue<string>().Should().Be(customer);
        (await CertificateAsync(tenant.Id))["rowsRemoved"]!["contacts"]!.GetValue<long>().Should().Be(1);
        await using var connection = new NpgsqlConnection(_host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM contacts WHERE tenant_id = $1", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
        ((long)(await count.ExecuteScalarAsync())!).Should().Be(0);
        await DrainAsync();
    }

    [Fact]
    public async Task APurgedTenantsDealsAndPipelineAreInItsFinalExportAndNoneOfTheirRowsOrActivationsRemain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var sales = await Bundles.SeedSalesAsync(_host, tenant);
        using (var read = await _host.SendAsync(HttpMethod.Get, $"/api/deals/{sales.Open}", tenant.Admin.AccessToken))
        {
            read.StatusCode.Should().Be(HttpStatusCode.OK, "the deal's grain is active before the purge");
        }

        var until = await CancelAsync(tenant.Id);
        _clock.Advance(until - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        var purged = (await RunAsync(dryRun: null)).Single(t => t["tenantId"]!.GetValue<string>() == tenant.Id.ToString());

        purged["action"]!.GetValue<string>().Should().Be("purged");
        var final = Bundles.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.BackupDirectory, purged["finalExport"]!.GetValue<string>())));
        final["deals"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).Should().BeEquivalentTo(sales.Open, sales.Won, sales.Lost);
        final["pipeline"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()).Should().Equal(sales.StageNames);
        var removed = (await CertificateAsync(tenant.Id))["rowsRemoved"]!;
        removed["deals"]!.GetValue<long>().Should().Be(3);
        removed["deal_contacts"]!.GetValue<long>().Should().Be(3);
        removed["pipeline_stages"]!.GetValue<long>().Should().Be(6);
        foreach (var table in new[] { "deals", "deal_contacts", "pipeline_stages" })
        {
            (await Bundles.CountAsync(_host, table, tenant.Id)).Should().Be(0, table);
        }

        (await WaitUntilInactiveAsync(tenant.Id, "deal", "pipeline")).Should().BeEmpty("the purge drops the tenant's deal and pipeline activations");
        await DrainAsync();
    }

    [Fact]
    public async Task APurgedTenantsActivitiesAreInItsFinalExportAndNoneOfTheirRowsOrActivationsRemain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var sales = await Bundles.SeedSalesAsync(_host, tenant);
        var agenda = await Bundles.SeedActivitiesAsync(_host, tenant, sales);
        using (var read = await _host.SendAsync(HttpMethod.Get, $"/api/activities/{agenda.Task}", tenant.Admin.AccessToken))
        {
            read.StatusCode.Should().Be(HttpStatusCode.OK, "the activity's grain is active before the purge");
        }

        var until = await CancelAsync(tenant.Id);
        _clock.Advance(until - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        var purged = (await RunAsync(dryRun: null)).Single(t => t["tenantId"]!.GetValue<string>() == tenant.Id.ToString());

        purged["action"]!.GetValue<string>().Should().Be("purged");
        var final = Bundles.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.BackupDirectory, purged["finalExport"]!.GetValue<string>())));
        final["activities"]!.AsArray().Select(a => a!["id"]!.GetValue<string>()).Should().BeEquivalentTo(agenda.Note, agenda.Task, agenda.Meeting);
        (await CertificateAsync(tenant.Id))["rowsRemoved"]!["activities"]!.GetValue<long>().Should().Be(3);
        (await Bundles.CountAsync(_host, "activities", tenant.Id)).Should().Be(0);
        (await WaitUntilInactiveAsync(tenant.Id, "activity")).Should().BeEmpty("the purge drops the tenant's activity activations");
        await DrainAsync();
    }

    [Fact]
    public async Task APurgedTenantsCustomFieldsAreInItsFinalExportAndNeitherTheirRowsNorTheirActivationRemain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "customers", Bundles.Field("tier", "Tier", "text"), Bundles.Field("vip", "VIP", "boolean"));
        await Bundles.ReplaceCustomFieldsAsync(_host, token, "deals", Bundles.Field("priority", "Priority", "select", false, "low", "high"));
        var customer = await Bundles.CreateCustomerAsync(_host, token, new { name = "Valued", customFields = new { tier = "gold", vip = true } });
        (await Bundles.CustomFieldsAsync(_host, token, "customers")).Should().HaveCount(2, "the definitions' grain is active before the purge");
        var until = await CancelAsync(tenant.Id);
        _clock.Advance(until - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        var purged = (await RunAsync(dryRun: null)).Single(t => t["tenantId"]!.GetValue<string>() == tenant.Id.ToString());

        purged["action"]!.GetValue<string>().Should().Be("purged");
        var final = Bundles.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.BackupDirectory, purged["finalExport"]!.GetValue<string>())));
        final["customFields"]!["customers"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()).Should().Equal("tier", "vip");
        final["customFields"]!["deals"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()).Should().Equal("priority");
        final["customers"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == customer)!["customFields"]!.ToJsonString()
            .Should().Be("""{"tier":"gold","vip":true}""");
        (await CertificateAsync(tenant.Id))["rowsRemoved"]!["custom_field_definitions"]!.GetValue<long>().Should().Be(3);
        (await Bundles.CountAsync(_host, "custom_field_definitions", tenant.Id)).Should().Be(0);
        (await WaitUntilInactiveAsync(tenant.Id, "custom-fields")).Should().BeEmpty("the purge drops the tenant's custom-fields activation");
        await DrainAsync();
    }

    [Fact]
    public async Task ADryRunReportsWhatWouldBePurgedAndDeletesNothing()
    {
        var id = await _host.ProvisionIdAsync(TenantBody.New());
        var until = await CancelAsync(id);
        _clock.Advance(until - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        var report = await RunAsync(dryRun: true);

        report.Single(t => t["tenantId"]!.GetValue<string>() == id.ToString())["action"]!.GetValue<string>().Should().Be("would-purge");
        (await _host.RunbookTenantAsync(id))!.Status.Should().Be("canceled");
        var finals = Path.Combine(fixture.BackupDirectory, "final");
        (Directory.Exists(finals) ? Directory.GetFiles(finals, $"{id}-*") : []).Should().BeEmpty("a dry run writes no final export either");
        await DrainAsync();
    }

    [Fact]
    public async Task ARunPurgesAtMostTheConfiguredNumberOfTenantsOldestRetentionFirst()
    {
        var first = await _host.ProvisionIdAsync(TenantBody.New());
        var second = await _host.ProvisionIdAsync(TenantBody.New());
        var third = await _host.ProvisionIdAsync(TenantBody.New());
        await CancelAsync(first);
        _clock.Advance(TimeSpan.FromMinutes(1));
        using (var softDelete = await _host.AdminTenantsAsync(HttpMethod.Post, $"{second}/delete", new { hardDelete = false }))
        {
            softDelete.EnsureSuccessStatusCode();
        }

        _clock.Advance(TimeSpan.FromMinutes(1));
        var until = await CancelAsync(third);
        _clock.Advance(until - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        var run = await RunAsync(dryRun: null);
        var thirdAfterOneRun = await _host.RunbookTenantAsync(third);
        var next = await RunAsync(dryRun: null);

        run.Should().HaveCount(BackupHost.MaxTenantsPerRun);
        run.Select(t => t["tenantId"]!.GetValue<string>()).Should().Equal(first.ToString(), second.ToString());
        run.Should().AllSatisfy(t => t["action"]!.GetValue<string>().Should().Be("purged"));
        thirdAfterOneRun.Should().NotBeNull();
        next.Select(t => t["tenantId"]!.GetValue<string>()).Should().Equal(third.ToString());
    }

    [Fact]
    public async Task AReactivatedTenantIsNotPurged()
    {
        var id = await _host.ProvisionIdAsync(TenantBody.New());
        var until = await CancelAsync(id);
        (await _host.AdminTenantsAsync(HttpMethod.Post, $"{id}/reactivate")).EnsureSuccessStatusCode();
        _clock.Advance(until - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        var report = await RunAsync(dryRun: null);

        report.Should().NotContain(t => t["tenantId"]!.GetValue<string>() == id.ToString());
        (await _host.RunbookTenantAsync(id))!.Status.Should().Be("active");
    }

    [Fact]
    public async Task AHardDeleteBeforeTheEndOfRetentionAlsoLeavesACertificate()
    {
        var id = await _host.ProvisionIdAsync(TenantBody.New());

        await Bundles.PurgeAsync(_host, id);

        var certificate = await CertificateAsync(id);
        certificate["reason"]!.GetValue<string>().Should().Be("forced-before-retention-ended");
        certificate["deletedBy"]!["role"]!.GetValue<string>().Should().Be("super_admin");
        certificate["deletedBy"]!["email"]!.GetValue<string>().Should().Be(_host.SuperAdminEmail);
        certificate["finalExports"]!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task OnlySuperAdminsRunThePurgeOrReadCertificates()
    {
        var tenant = await _host.ProvisionTenantAsync();

        using var run = await _host.SendAsync(HttpMethod.Post, "/api/admin/deletions/run", tenant.Admin.AccessToken, new { dryRun = true });
        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/deletions", tenant.Admin.AccessToken);
        using var badCursor = await _host.SendAsync(HttpMethod.Get, "/api/admin/deletions?cursor=nope", await _host.SharedSuperAdminTokenAsync());

        run.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        list.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        badCursor.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    /// <summary>The tenant's activations of the given grain types still active once a deadline passes (deactivation follows the purge's call).</summary>
    private async Task<List<string>> WaitUntilInactiveAsync(Guid tenantId, params string[] grainTypes)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var active = new List<string>();
            foreach (var type in grainTypes)
            {
                active.AddRange((await _host.ActiveGrainsAsync(type))
                    .Select(id => $"{type}/{id.Key}").Where(key => key.Contains(tenantId.ToString("D"), StringComparison.Ordinal)));
            }

            if (active.Count == 0 || DateTime.UtcNow > deadline)
            {
                return active;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    private async Task<DateTimeOffset> CancelAsync(Guid id)
    {
        using var cancel = await _host.AdminTenantsAsync(HttpMethod.Post, $"{id}/cancel");
        cancel.EnsureSuccessStatusCode();
        return (await cancel.JsonAsync())["retentionUntil"]!.GetValue<DateTimeOffset>();
    }

    private async Task<List<JsonNode>> RunAsync(bool? dryRun)
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "/api/admin/deletions/run", await _host.SharedSuperAdminTokenAsync(),
            dryRun is null ? null : new { dryRun });
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.JsonAsync();
        body["dryRun"]!.GetValue<bool>().Should().Be(dryRun ?? false);
        return body["tenants"]!.AsArray().Select(t => t!).ToList();
    }

    private async Task DrainAsync()
    {
        while ((await RunAsync(dryRun: null)).Count > 0)
        {
        }
    }

    private async Task<JsonNode> CertificateAsync(Guid tenantId)
    {
        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/deletions?pageSize=200", await _host.SharedSuperAdminTokenAsync());
        list.StatusCode.Should().Be(HttpStatusCode.OK);
        return (await list.JsonAsync())["items"]!.AsArray().Single(c => c!["tenantId"]!.GetValue<string>() == tenantId.ToString())!;
    }
}
