using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Backups;

public sealed class BackupTests(BackupHost fixture) : IClassFixture<BackupHost>
{
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly ApiHost _host = fixture.Host;

    [Fact]
    public async Task TheRestoreDrillRecoversExactlyTheDataAsOfTheIncrementalBackup()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var changed = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Changed later" });
        var deleted = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Deleted later" });
        var untouched = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Untouched" });
        var full = await RunAsync("full");
        using (var update = await _host.SendAsync(HttpMethod.Put, $"/api/customers/{changed}", tenant.Admin.AccessToken, new { name = "Changed", tags = new[] { "new" } }))
        using (var delete = await _host.SendAsync(HttpMethod.Delete, $"/api/customers/{deleted}", tenant.Admin.AccessToken))
        {
            update.EnsureSuccessStatusCode();
            delete.EnsureSuccessStatusCode();
        }

        var added = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Added" });
        var member = await _host.AddUserAsync(tenant);
        var incremental = await RunAsync("incremental");
        var expected = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));
        using (var afterBackup = await _host.SendAsync(HttpMethod.Post, "/api/customers", tenant.Admin.AccessToken, new { name = "After the last backup" }))
        {
            afterBackup.EnsureSuccessStatusCode();
        }

        await Bundles.PurgeAsync(_host, tenant.Id);

        using var restore = await _host.SendAsync(HttpMethod.Post,
            $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());
        var actual = Bundles.Parse(await Bundles.ExportAsync(_host, tenant.Id));

        incremental["previous"]!.GetValue<string>().Should().Be(full["id"]!.GetValue<string>());
        restore.StatusCode.Should().Be(HttpStatusCode.Created);
        (await restore.JsonAsync())["backupId"]!.GetValue<string>().Should().Be(incremental["id"]!.GetValue<string>());
        JsonNode.DeepEquals(Bundles.Data(actual, dropLastAuditEntries: 1), Bundles.Data(expected)).Should().BeTrue();
        actual["customers"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().BeEquivalentTo(changed, untouched, added);
        actual["users"]!.AsArray().Should().HaveCount(2);
        await _host.LoginAsync(member.Body["user"]!["email"]!.GetValue<string>(), "member-password");
    }

    [Fact]
    public async Task AFullBackupListsEveryFileWithItsSha256AndAWholeDatabaseDump()
    {
        var tenant = await _host.ProvisionTenantAsync();

        var full = await RunAsync("full");
        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync());
        using var details = await _host.SendAsync(HttpMethod.Get, $"/api/admin/backups/{full["id"]}", await _host.SharedSuperAdminTokenAsync());

        full["kind"]!.GetValue<string>().Should().Be("full");
        full["databaseDump"]!.GetValue<string>().Should().Be("database.dump");
        (await list.JsonAsync())["items"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).Should().Contain(full["id"]!.GetValue<string>());
        var files = (await details.JsonAsync())["files"]!.AsArray();
        files.Should().Contain(f => f!["tenantId"] != null && f["tenantId"]!.GetValue<string>() == tenant.Id.ToString());
        foreach (var file in files)
        {
            var path = Path.Combine(fixture.BackupDirectory, full["id"]!.GetValue<string>(), file!["name"]!.GetValue<string>());
            await using var stream = File.OpenRead(path);
            Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)).Should().Be(file["sha256"]!.GetValue<string>(), file["name"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task AnIncrementalBackupHoldsOnlyWhatChangedSinceThePreviousOne()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var gone = await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Gone" });
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "Stays" });
        await RunAsync("full");
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "New" });
        (await _host.SendAsync(HttpMethod.Delete, $"/api/customers/{gone}", tenant.Admin.AccessToken)).EnsureSuccessStatusCode();

        var incremental = await RunAsync("incremental");
        using var details = await _host.SendAsync(HttpMethod.Get, $"/api/admin/backups/{incremental["id"]}", await _host.SharedSuperAdminTokenAsync());

        var file = (await details.JsonAsync())["files"]!.AsArray().Single(f => f!["tenantId"]?.GetValue<string>() == tenant.Id.ToString())!;
        file["kind"]!.GetValue<string>().Should().Be("incremental");
        file["customers"]!.GetValue<long>().Should().Be(1);
        file["deletedCustomers"]!.GetValue<long>().Should().Be(1);
        incremental["databaseDump"].Should().BeNull();
    }

    [Fact]
    public async Task ScheduledTicksRunEachDueSlotExactlyOnce()
    {
        _host.Services.GetRequiredService<CallerSigner>().EnterSystem();
        var backups = _host.Services.GetRequiredService<IGrainFactory>().GetGrain<IBackupGrain>("backups");
        await backups.TickAsync();

        var repeated = await backups.TickAsync();
        var now = _clock.GetUtcNow();
        var next = Enumerable.Range(1, 24).Select(h => new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(h))
            .First(t => t.Hour == 2 || t.Hour % 6 == 0);
        _clock.Advance(next - now + TimeSpan.FromSeconds(30));
        var due = await backups.TickAsync();
        var again = await backups.TickAsync();
        RequestContext.Clear();

        repeated.Should().BeNull();
        due.Should().NotBeNull();
        due!.Kind.Should().Be(next.Hour == 2 ? "full" : "incremental");
        due.Trigger.Should().Be("schedule");
        again.Should().BeNull();
    }

    [Fact]
    public async Task RestoringFromABackupNeedsTheTenantInItAndAnUnbrokenChain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var full = await RunAsync("full");
        var incremental = await RunAsync("incremental");
        var token = await _host.SharedSuperAdminTokenAsync();

        using var unknownTenant = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={Guid.NewGuid()}", token);
        using var unknownBackup = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/20200101T000000000Z-full/restore?tenantId={tenant.Id}", token);
        using var noTenant = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore", token);
        using var exists = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", token);
        Directory.Delete(Path.Combine(fixture.BackupDirectory, full["id"]!.GetValue<string>()), recursive: true);
        using var broken = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}&mode=replace", token);

        unknownTenant.StatusCode.Should().Be(HttpStatusCode.NotFound);
        unknownBackup.StatusCode.Should().Be(HttpStatusCode.NotFound);
        noTenant.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        exists.StatusCode.Should().Be(HttpStatusCode.Conflict);
        broken.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await broken.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(full["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task ADamagedBackupFileIsRefusedBeforeAnythingIsWritten()
    {
        var tenant = await _host.ProvisionTenantAsync();
        var full = await RunAsync("full");
        await Bundles.PurgeAsync(_host, tenant.Id);
        var path = Path.Combine(fixture.BackupDirectory, full["id"]!.GetValue<string>(), "tenants", $"{tenant.Id}.json");
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);

        using var restore = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{full["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("SHA-256");
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task AnIncrementEditedWithItsChecksumAndManifestRecomputedIsRefusedAsNotMatchingItsSignature()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await RunAsync("full");
        await Bundles.CreateCustomerAsync(_host, tenant.Admin.AccessToken, new { name = "In the increment" });
        var incremental = await RunAsync("incremental");
        await Bundles.PurgeAsync(_host, tenant.Id);
        var folder = Path.Combine(fixture.BackupDirectory, incremental["id"]!.GetValue<string>());
        var name = $"tenants/{tenant.Id}.json";
        var edited = Bundles.Edit(await File.ReadAllBytesAsync(Path.Combine(folder, name)), json => json["customers"]![0]!["name"] = "Edited in the backup");
        await File.WriteAllBytesAsync(Path.Combine(folder, name), edited);
        var manifest = JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(folder, "manifest.json")))!;
        manifest["files"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == name)!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(edited));
        await File.WriteAllTextAsync(Path.Combine(folder, "manifest.json"), manifest.ToJsonString());

        using var restore = await _host.SendAsync(HttpMethod.Post, $"/api/admin/backups/{incremental["id"]}/restore?tenantId={tenant.Id}", await _host.SharedSuperAdminTokenAsync());

        restore.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await restore.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("signature does not match");
        (await _host.RunbookTenantAsync(tenant.Id)).Should().BeNull();
    }

    [Fact]
    public async Task AFolderWithoutAManifestIsNotListed()
    {
        Directory.CreateDirectory(Path.Combine(fixture.BackupDirectory, "20200101T000000000Z-full", "tenants"));

        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync());

        (await list.JsonAsync())["items"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).Should().NotContain("20200101T000000000Z-full");
    }

    [Fact]
    public async Task BackupsPastTheirRetentionAreDeletedUnlessAKeptOneContinuesThem()
    {
        var oldFull = await RunAsync("full");
        _clock.Advance(TimeSpan.FromHours(15));
        var incremental = await RunAsync("incremental");
        _clock.Advance(TimeSpan.FromHours(15));
        var newFull = await RunAsync("full");
        var afterOneDay = await ListIdsAsync();
        _clock.Advance(TimeSpan.FromHours(15));
        await RunAsync("full");
        var afterTwoDays = await ListIdsAsync();

        afterOneDay.Should().Contain([oldFull["id"]!.GetValue<string>(), incremental["id"]!.GetValue<string>()], "the incremental continues the old full");
        afterTwoDays.Should().NotContain([oldFull["id"]!.GetValue<string>(), incremental["id"]!.GetValue<string>()]);
        afterTwoDays.Should().Contain(newFull["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUploadLargerThanTheRestoreLimitIsRefused()
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/admin/tenants/restore", await _host.SharedSuperAdminTokenAsync());
        request.Content = new ByteArrayContent(new byte[BackupHost.MaxRestoreBytes + 1]);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await _host.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("payload-too-large"));
        problem["detail"]!.GetValue<string>().Should().Contain("0.25 MiB");
    }

    [Fact]
    public async Task OnlySuperAdminsRunBackupsAndTheKindMustBeKnown()
    {
        var tenant = await _host.ProvisionTenantAsync();

        using var byAdmin = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", tenant.Admin.AccessToken, new { kind = "full" });
        using var unknown = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync(), new { kind = "partial" });

        byAdmin.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        unknown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task EveryBackupFullOrIncrementalAnchorsTheHeadOfTheTenantsChain()
    {
        var tenant = await _host.ProvisionTenantAsync();
        await RunAsync("full");
        var afterFull = await VerifyAsync(tenant);
        using (var written = await _host.SendAsync(HttpMethod.Post, "/api/test/audit", tenant.Admin.AccessToken))
        {
            written.EnsureSuccessStatusCode();
        }

        await RunAsync("incremental");
        var afterIncremental = await VerifyAsync(tenant);

        afterFull["anchors"]!["checked"]!.GetValue<long>().Should().Be(1);
        afterIncremental["anchors"]!["checked"]!.GetValue<long>().Should().Be(2);
        afterIncremental["anchors"]!["matched"]!.GetValue<long>().Should().Be(2);
        afterIncremental["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    private async Task<JsonObject> VerifyAsync(TestTenant tenant)
    {
        using var response = await _host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", tenant.Admin.AccessToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    private async Task<JsonObject> RunAsync(string kind)
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync(), new { kind });
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return await response.JsonAsync();
    }

    private async Task<List<string>> ListIdsAsync()
    {
        using var list = await _host.SendAsync(HttpMethod.Get, "/api/admin/backups", await _host.SharedSuperAdminTokenAsync());
        return (await list.JsonAsync())["items"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).ToList();
    }
}
