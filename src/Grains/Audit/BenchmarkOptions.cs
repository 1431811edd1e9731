using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Shohayota.Grains.Audit;

/// <summary>Benchmark-only switches (bench/run.sh sets them on a second start of the Api). Never set them in production.</summary>
public sealed class BenchmarkOptions
{
    public const string SectionName = "Shohayota:Benchmark";

    /// <summary>
    /// Customer writes run their statements in a transaction of their own and write no audit entry (bench S8 measures
    /// what the audit log costs against it). Everything else is still audited.
    /// </summary>
    public bool AuditOff { get; set; }
}

/// <summary>Says loudly at start-up that a benchmark-only switch is on, so a node started with one cannot pass unnoticed.</summary>
internal sealed class BenchmarkSwitchWarning(IOptions<BenchmarkOptions> options, ILogger<BenchmarkSwitchWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.AuditOff)
        {
            logger.LogWarning(
                "BENCHMARK-ONLY SWITCH {Setting}=true: customer creates, updates and deletes write NO audit entry on this node. " +
                "This node's audit log is incomplete; never run it in production",
                $"{BenchmarkOptions.SectionName}:{nameof(BenchmarkOptions.AuditOff)}");
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
