using System.Net;
using Microsoft.Extensions.Options;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Auth;

/// <summary>How one sign-in attempt ended, as the node counts it.</summary>
public enum SignInResult
{
    Succeeded,
    Failed,
    UnknownEmail,
    Throttled,
    Busy,
    Refused,
}

/// <summary>
/// This node's sign-in outcomes: totals since start and a sliding window (for /metrics and the <c>signInFailures</c>
/// alert), and a tally of unknown-e-mail attempts per client address that <see cref="UnknownEmailAudit"/> writes to the
/// system log as one entry per address per window instead of one row per attempt.
/// </summary>
public sealed class SignInMonitor
{
    /// <summary>The tally of the addresses beyond <see cref="SignInAuditOptions.MaxAddresses"/> in one window.</summary>
    public const string OtherAddresses = "other";

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    private const int SlotSeconds = 10;
    private static readonly int Slots = (int)(Window.TotalSeconds / SlotSeconds);
    private static readonly int Results = Enum.GetValues<SignInResult>().Length;

    private readonly long[] _counts = new long[Results];
    private readonly long[,] _slots = new long[Slots, Results];
    private readonly long[] _slotStamps = new long[Slots];
    private readonly Lock _windowLock = new();
    private readonly Lock _tallyLock = new();
    private readonly TimeProvider _time;
    private readonly int _maxAddresses;
    private Dictionary<string, UnknownEmailTally> _unknown = [];

    public SignInMonitor(TimeProvider time, IOptions<SignInAuditOptions> options)
    {
        _time = time;
        _maxAddresses = options.Value.MaxAddresses;
        Array.Fill(_slotStamps, long.MinValue);
    }

    /// <summary>How a sign-in ended: a lockout (a 401 that cost no hash, with a wait) counts as throttled, a full hash gate as busy.</summary>
    public static SignInResult Classify<T>(Outcome<T> outcome) => outcome.Failure switch
    {
        Failure.None => SignInResult.Succeeded,
        Failure.InvalidCredentials when outcome.RetryAfter is not null => SignInResult.Throttled,
        Failure.InvalidCredentials => SignInResult.Failed,
        Failure.RateLimited => SignInResult.Throttled,
        Failure.ServiceUnavailable => SignInResult.Busy,
        _ => SignInResult.Refused,
    };

    public void Record(SignInResult result, IPAddress? client)
    {
        Interlocked.Increment(ref _counts[(int)result]);
        var now = _time.Now();
        var stamp = now.ToUnixTimeSeconds() / SlotSeconds;
        lock (_windowLock)
        {
            var slot = (int)(stamp % Slots);
            if (_slotStamps[slot] != stamp)
            {
                _slotStamps[slot] = stamp;
                for (var r = 0; r < Results; r++)
                {
                    _slots[slot, r] = 0;
                }
            }

            _slots[slot, (int)result]++;
        }

        if (result == SignInResult.UnknownEmail)
        {
            Tally(client?.ToString() ?? "unknown", now);
        }
    }

    /// <summary>Attempts with this result since the node started.</summary>
    public long Count(SignInResult result) => Interlocked.Read(ref _counts[(int)result]);

    /// <summary>Attempts with this result over the last five minutes (ten-second resolution).</summary>
    public long Recent(SignInResult result)
    {
        var newest = _time.Now().ToUnixTimeSeconds() / SlotSeconds;
        long sum = 0;
        lock (_windowLock)
        {
            for (var slot = 0; slot < Slots; slot++)
            {
                if (_slotStamps[slot] > newest - Slots && _slotStamps[slot] <= newest)
                {
                    sum += _slots[slot, (int)result];
                }
            }
        }

        return sum;
    }

    /// <summary>Failed, unknown-e-mail and throttled attempts over the last five minutes: what the alert watches.</summary>
    public long RecentFailures() => Recent(SignInResult.Failed) + Recent(SignInResult.UnknownEmail) + Recent(SignInResult.Throttled);

    /// <summary>Takes the unknown-e-mail tallies gathered since the last call (largest first, the overflow last).</summary>
    public IReadOnlyList<UnknownEmailTally> DrainUnknownEmails()
    {
        Dictionary<string, UnknownEmailTally> drained;
        lock (_tallyLock)
        {
            drained = _unknown;
            _unknown = [];
        }

        return [.. drained.Values.OrderBy(t => t.Address == OtherAddresses).ThenByDescending(t => t.Attempts).ThenBy(t => t.Address, StringComparer.Ordinal)];
    }

    private void Tally(string address, DateTimeOffset now)
    {
        lock (_tallyLock)
        {
            // Bounded memory under a flood from many addresses: beyond the cap, everything folds into one entry.
            var key = _unknown.ContainsKey(address) || _unknown.Count < _maxAddresses ? address : OtherAddresses;
            _unknown[key] = _unknown.TryGetValue(key, out var tally)
                ? tally with { Attempts = tally.Attempts + 1, LastAt = now }
                : new UnknownEmailTally(key, 1, now, now);
        }
    }
}

/// <summary>Unknown-e-mail sign-in attempts from one client address (or <see cref="SignInMonitor.OtherAddresses"/>) in one window.</summary>
public sealed record UnknownEmailTally(string Address, long Attempts, DateTimeOffset FirstAt, DateTimeOffset LastAt);
