using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Backups;
using Shohayota.Grains.Tenants;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Backups;

/// <summary>
/// A host of its own per test class, on a database of its own (a full backup and the retention purge act on every
/// tenant, so they must not meet other tests' tenants) and a clock the tests move. Retention is one day for tenants and
/// backups, so clock jumps stay short; restores accept 256 KiB; a purge run takes at most two tenants.
/// </summary>
public sealed class BackupHost : IAsyncLifetime
{
    public const long MaxRestoreBytes = 256 * 1024;
    public const int MaxTenantsPerRun = 2;

    private TestDatabase _database = null!;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public ApiHost Host { get; private set; } = null!;

    public string BackupDirectory => Path.Combine(_database.Directory, "backups");

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.StartAsync();
        Host = await ApiHost.StartAsync(_database, services => services
            .AddSingleton<TimeProvider>(Clock)
            .PostConfigure<TenantOptions>(o => o.RetentionDays = 1)
            .PostConfigure<BackupOptions>(o =>
            {
                o.RetentionDays = 1;
                o.MaxRestoreBytes = MaxRestoreBytes;
            })
            .PostConfigure<PurgeOptions>(o => o.MaxTenantsPerRun = MaxTenantsPerRun));
        await Host.SharedSuperAdminTokenAsync();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await _database.DisposeAsync();
    }
}
