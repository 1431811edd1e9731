using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;
using Shohayota.Grains.Users;

namespace Shohayota.Api.Auth;

/// <summary>
/// This node's part of the sign-in limits, all checked before any hash: a sliding window per client address (IPv6 by
/// /64), and for e-mails nobody holds the same per-(e-mail, address) lockout, delay and ceiling the user grain keeps
/// for real accounts, so the answers do not tell which e-mails exist. The number of addresses and e-mails remembered
/// is bounded; the least recently seen is forgotten first.
/// </summary>
public sealed class SignInThrottle : IDisposable
{
    public const string RateLimitedDetail = "Too many sign-in attempts from your address; wait before trying again.";

    private readonly SignInLimitsOptions _limits;
    private readonly AuthOptions _auth;
    private readonly PasswordHashGate _gate;
    private readonly TimeProvider _time;
    private readonly Lru<SlidingWindowRateLimiter> _addresses;
    private readonly Lru<SignInGuard> _unknownEmails;
    private readonly ITimer _replenish;

    public SignInThrottle(IOptions<SignInLimitsOptions> limits, IOptions<AuthOptions> auth, PasswordHashGate gate, TimeProvider time)
    {
        _limits = limits.Value;
        _auth = auth.Value;
        _gate = gate;
        _time = time;
        _addresses = new Lru<SlidingWindowRateLimiter>(_limits.MaxTrackedAddresses);
        _unknownEmails = new Lru<SignInGuard>(_limits.MaxTrackedAddresses);
        var segment = _limits.AddressWindow / _limits.AddressWindowSegments;
        // The windows slide on this one timer (a limiter with its own timer per address would cost a timer each); the
        // limiters measure time with a Stopwatch, so the timer runs on the real clock too.
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, Math.Min(segment.Ticks / 4, TimeSpan.FromSeconds(1).Ticks)));
        _replenish = TimeProvider.System.CreateTimer(_ => Replenish(), null, tick, tick);
    }

    /// <summary>The per-address window; a refusal when this address used it up (checked first: no lookup, no hash).</summary>
    public Outcome<T>? CheckAddress<T>(IPAddress? client)
    {
        var key = SignInAddress.Normalize(client);
        using var lease = _addresses.Update(key, () => new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
        {
            PermitLimit = _limits.AddressPermitLimit,
            Window = _limits.AddressWindow,
            SegmentsPerWindow = _limits.AddressWindowSegments,
            QueueLimit = 0,
            AutoReplenishment = false,
        }), limiter => limiter.AttemptAcquire());
        if (lease.IsAcquired)
        {
            return null;
        }

        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : _limits.AddressWindow / _limits.AddressWindowSegments;
        return Outcome<T>.Later(Failure.RateLimited, RateLimitedDetail, wait);
    }

    /// <summary>
    /// A sign-in for an e-mail nobody holds: refused exactly when a real account would refuse it (the refusal is
    /// returned), else the dummy hash through the gate and a failure counted like a real one (null: a wrong password).
    /// </summary>
    public async Task<Outcome<T>?> HashUnknownEmailAsync<T>(string email, string password, IPAddress? client)
    {
        var address = SignInAddress.Normalize(client);
        var now = _time.GetUtcNow();
        var key = email.Trim().ToLowerInvariant();
        // The attempt will fail whatever the password: counted at once, so parallel attempts are refused as the user
        // grain (one attempt at a time per account) would refuse them.
        var check = _unknownEmails.Update(key, () => new SignInGuard(_auth, _limits), guard =>
        {
            var verdict = guard.Check(address, now);
            if (verdict.Verdict == SignInVerdict.Allowed)
            {
                guard.RecordFailure(address, now);
            }

            return verdict;
        });
        if (check.Verdict != SignInVerdict.Allowed)
        {
            return check.Refusal<T>(SignInService.Invalid);
        }

        var (ran, _) = await _gate.RunAsync(() =>
        {
            PasswordHashing.VerifyAgainstDummy(password, _auth.PasswordHashIterations);
            return true;
        });
        if (!ran)
        {
            return _gate.Busy<T>();
        }

        return null;
    }

    public void Dispose() => _replenish.Dispose();

    private void Replenish()
    {
        _addresses.ForEach(limiter => limiter.TryReplenish());

        // Windows that are full again and idle for a whole window, and unknown e-mails with nothing to remember, go.
        _addresses.RemoveWhere(l => l.IdleDuration > _limits.AddressWindow);
        var now = _time.GetUtcNow();
        _unknownEmails.RemoveWhere(guard => guard.Prune(now));
    }

    /// <summary>
    /// A bounded map that forgets the least recently used entry when full. Entries are used only under its lock, so one
    /// is never changed while it is being forgotten (limiters without auto-replenishment hold no timer: nothing to dispose).
    /// </summary>
    private sealed class Lru<T>(int capacity)
        where T : class
    {
        private readonly Dictionary<string, LinkedListNode<(string Key, T Value)>> _map = new(StringComparer.Ordinal);
        private readonly LinkedList<(string Key, T Value)> _order = new();

        /// <summary>Applies <paramref name="use"/> to the entry, created first when missing.</summary>
        public TResult Update<TResult>(string key, Func<T> create, Func<T, TResult> use)
        {
            lock (_map)
            {
                if (_map.TryGetValue(key, out var node))
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                    return use(node.Value.Value);
                }

                if (_map.Count >= capacity && _order.Last is { } last)
                {
                    _order.RemoveLast();
                    _map.Remove(last.Value.Key);
                }

                var added = _order.AddFirst((key, create()));
                _map[key] = added;
                return use(added.Value.Value);
            }
        }

        public void ForEach(Action<T> use)
        {
            lock (_map)
            {
                foreach (var (_, value) in _order)
                {
                    use(value);
                }
            }
        }

        public void RemoveWhere(Func<T, bool> stale)
        {
            lock (_map)
            {
                for (var node = _order.First; node is not null;)
                {
                    var next = node.Next;
                    if (stale(node.Value.Value))
                    {
                        _order.Remove(node);
                        _map.Remove(node.Value.Key);
                    }

                    node = next;
                }
            }
        }
    }
}
