using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Audit;

[GrainType("audit-retention")]
public sealed class AuditRetentionGrain(
    NpgsqlDataSource dataSource,
    TimeProvider time,
    Security.CallerSigner signer,
    IOptions<AuditOptions> options,
    ILogger<AuditRetentionGrain> logger) : Grain, IAuditRetentionGrain, IRemindable
{
    private const string ReminderName = "daily-prune";

    public async Task StartAsync() =>
        await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromHours(1), TimeSpan.FromDays(1));

    public async Task<long> RunAsync()
    {
        var tenants = new List<Guid> { GrainKeys.SystemTenant };
        await using (var read = dataSource.CreateCommand("SELECT id FROM tenants"))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tenants.Add(reader.GetGuid(0));
            }
        }

        var cutoff = time.GetUtcNow().AddDays(-options.Value.RetentionDays);
        long pruned = 0;
        foreach (var tenant in tenants)
        {
            pruned += await GrainFactory.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(tenant)).PruneAsync(cutoff);
        }

        logger.LogInformation("Audit retention pruned {Entries} entries older than {Cutoff:O} across {Tenants} logs", pruned, cutoff, tenants.Count);
        var anchored = await AuditAnchors.AnchorAsync(dataSource, "daily");
        logger.LogInformation("Anchored the heads of {Chains} audit chains that moved since their last anchor", anchored);
        return pruned;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        signer.EnterSystem();
        await RunAsync();
    }
}
