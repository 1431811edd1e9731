using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Auth;

public sealed class SignInAuditOptions
{
    public const string SectionName = "Shohayota:SignInAudit";

    /// <summary>How often this node writes its unknown-e-mail tallies (one system audit entry per client address).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UnknownEmailWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Client addresses tallied per window; attempts from further addresses are folded into one <c>other</c> entry.</summary>
    [Range(1, 100_000)]
    public int MaxAddresses { get; set; } = 1000;
}

/// <summary>
/// Writes the unknown-e-mail sign-in tallies of <see cref="SignInMonitor"/> to the system tenant's audit log as
/// <c>auth.login_failed_unknown</c>, one entry per client address per window, at the end of each window and on shutdown.
/// An anonymous flood of made-up e-mail addresses costs one row per address per window, not one per attempt.
/// </summary>
public sealed class UnknownEmailAudit(
    SignInMonitor monitor,
    IGrainFactory grains,
    CallerSigner signer,
    TimeProvider time,
    IOptions<SignInAuditOptions> options,
    ILogger<UnknownEmailAudit> logger) : BackgroundService
{
    public const string Action = "auth.login_failed_unknown";

    /// <summary>Writes what was tallied since the last flush (tests call it instead of waiting for a window to end).</summary>
    public async Task FlushAsync()
    {
        var tallies = monitor.DrainUnknownEmails();
        if (tallies.Count == 0)
        {
            return;
        }

        var window = options.Value.UnknownEmailWindow;
        var entries = tallies.Select(t => new AuditDraft(Action, "address", t.Address, AuditOutcomes.Denied,
            AuditChain.Details(new { address = t.Address, attempts = t.Attempts, firstAt = t.FirstAt, lastAt = t.LastAt, window }))).ToList();
        try
        {
            // Signed per flush: an envelope expires, this service runs for the life of the node.
            signer.EnterSystem();
            await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant)).AppendAsync(entries);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Could not audit {Attempts} unknown-e-mail sign-in attempts from {Addresses} addresses",
                tallies.Sum(t => t.Attempts), tallies.Count);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.UnknownEmailWindow, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
