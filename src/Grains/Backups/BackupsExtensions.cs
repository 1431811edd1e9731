using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Shohayota.Grains.Interfaces.Backups;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Backups;

public static class BackupsExtensions
{
    /// <summary>Export, restore, backups and the retention purge on a silo, with their schedules started at start-up.</summary>
    public static IServiceCollection AddShohayotaBackups(this IServiceCollection services)
    {
        services.AddShohayotaBackupServices();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BackupScheduleStarter>());
        return services;
    }

    /// <summary>What a front end needs to stream exports and restore uploads (also without a co-hosted silo).</summary>
    public static IServiceCollection AddShohayotaBackupServices(this IServiceCollection services)
    {
        services.AddOptions<BackupOptions>().BindConfiguration(BackupOptions.SectionName).ValidateDataAnnotations()
            .Validate(o => BackupOptions.IsCron(o.FullSchedule) && BackupOptions.IsCron(o.IncrementalSchedule),
                "Shohayota:Backups:FullSchedule and IncrementalSchedule must be five-field cron expressions.")
            .ValidateOnStart();
        services.AddOptions<PurgeOptions>().BindConfiguration(PurgeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // Loaded (or generated into the data directory) at start-up, so a node with a bad key refuses to start and add-node.sh finds the file.
        services.TryAddSingleton<BundleSigner>();
        services.AddOptions<BackupOptions>().Validate<BundleSigner>((_, signer) => signer.CurrentKeyId.Length > 0);
        services.TryAddSingleton<BackupStore>();
        services.TryAddSingleton<TenantExporter>();
        services.TryAddSingleton<TenantRestorer>();
        services.TryAddSingleton<Audit.AuditMaintenance>();
        services.TryAddSingleton<DatabaseDump>();
        services.TryAddSingleton<DeletionCertificates>();
        return services;
    }

    /// <summary>Registers (or removes) the backup and retention-purge reminders once the silo runs.</summary>
    private sealed class BackupScheduleStarter(IGrainFactory grains, Security.CallerSigner signer) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            signer.EnterSystem();
            await grains.GetGrain<IBackupGrain>("backups").StartAsync();
            await grains.GetGrain<IRetentionPurgeGrain>("retention-purge").StartAsync();
            RequestContext.Clear();
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
