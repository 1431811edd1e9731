using System.Globalization;
using Microsoft.Extensions.Logging;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Security;

/// <summary>
/// Records grain calls refused because their caller was missing, badly signed or expired: a flood stays bounded to one
/// Warning at the first refusal and one summary (a Warning and a <c>security.forged_caller</c> entry in the system
/// audit log with the count per reason) per minute and silo.
/// </summary>
public sealed class ForgedCallerAudit(IGrainFactory grains, CallerSigner signer, ILogger<ForgedCallerAudit> logger) : IDisposable
{
    public const string Action = "security.forged_caller";
    public static readonly EventId ForgedCallerEvent = new(4301, "ForgedCaller");
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<CallerCheck, long> _reasons = [];
    private long _count;
    private string? _first;
    private DateTimeOffset _since;
    private ITimer? _timer;

    public void Report(CallerCheck reason, string method, GrainId target, Caller? claimed)
    {
        bool first;
        lock (_lock)
        {
            first = _count++ == 0;
            _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
            if (first)
            {
                _first = $"{method} on {target}";
                _since = TimeProvider.System.GetUtcNow();
                // Not the grain's context: the summary is the cluster's own work.
                using (ExecutionContext.SuppressFlow())
                {
                    _timer = TimeProvider.System.CreateTimer(_ => _ = FlushAsync(), null, Window, Timeout.InfiniteTimeSpan);
                }
            }
        }

        if (first)
        {
            logger.LogWarning(ForgedCallerEvent,
                "Security: grain call refused, its caller is {Reason}: {Method} on {Grain}, claiming role {Role} of tenant {TenantId}; further refusals within a minute are counted and audited together",
                Describe(reason), method, target, claimed?.Role, claimed?.TenantId);
        }
    }

    /// <summary>Writes the current window's summary now (the timer does it a minute after the first refusal).</summary>
    public async Task FlushAsync()
    {
        long count;
        string reasons;
        string? first;
        DateTimeOffset since;
        lock (_lock)
        {
            if (_count == 0)
            {
                return;
            }

            (count, first, since) = (_count, _first, _since);
            reasons = string.Join(", ", _reasons.Select(r => string.Create(CultureInfo.InvariantCulture, $"{Describe(r.Key)}: {r.Value}")));
            _count = 0;
            _reasons.Clear();
            _timer?.Dispose();
            _timer = null;
        }

        logger.LogWarning(ForgedCallerEvent, "Security: {Count} grain calls with a forged caller refused since {Since} ({Reasons}); first: {First}", count, since, reasons, first);
        try
        {
            RequestContext.Clear();
            signer.EnterSystem();
            await grains.GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(GrainKeys.SystemTenant)).AppendAsync(
            [
                new AuditDraft(Action, "grain", first, AuditOutcomes.Denied, AuditChain.Details(new { count, reasons, since })),
            ]);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(ForgedCallerEvent, e, "Could not audit {Count} refused forged grain calls", count);
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    public void Dispose() => _timer?.Dispose();

    private static string Describe(CallerCheck reason) => reason switch
    {
        CallerCheck.Missing => "missing or unsigned",
        CallerCheck.BadSignature => "badly signed",
        CallerCheck.Expired => "expired",
        CallerCheck.ReminderFromClient => "a client sending a reminder tick",
        _ => reason.ToString(),
    };
}
