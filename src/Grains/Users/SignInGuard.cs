using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Users;

/// <summary>What the guard says about an attempt before any password is hashed.</summary>
public enum SignInVerdict
{
    Allowed,

    /// <summary>This address failed too often for this account: refused like a wrong password, without a hash.</summary>
    Locked,

    /// <summary>This address failed recently for this account and must wait (429 with Retry-After).</summary>
    Delayed,

    /// <summary>The account failed too often from everywhere; only addresses that signed in to it recently may try.</summary>
    Ceiling,
}

public readonly record struct SignInCheck(SignInVerdict Verdict, TimeSpan Wait)
{
    public static readonly SignInCheck Allowed = new(SignInVerdict.Allowed, TimeSpan.Zero);

    /// <summary>
    /// The answer to a refused attempt: a locked-out address hears a wrong password (the wait is kept for counting only,
    /// never sent); the others a 429 with the wait.
    /// </summary>
    public Outcome<T> Refusal<T>(string invalidCredentials) => Verdict == SignInVerdict.Locked
        ? Outcome<T>.Later(Failure.InvalidCredentials, invalidCredentials, Wait)
        : Outcome<T>.Later(Failure.RateLimited, SignInGuard.WaitDetail, Wait);
}

/// <summary>
/// One account's sign-in failures, kept in the memory of the account's single activation (the user grain), so it holds
/// across nodes. Failures are counted per client address: an address that fails <see cref="AuthOptions.LockoutThreshold"/>
/// times within <see cref="AuthOptions.LockoutDuration"/> is refused for this account for that long, and after
/// <see cref="SignInLimitsOptions.DelayAfterFailures"/> it waits a doubling delay between tries; the account as a whole is
/// never locked for an address that has not failed. Not thread-safe: the grain's turns serialize it.
/// </summary>
public sealed class SignInGuard(AuthOptions auth, SignInLimitsOptions limits)
{
    public const string WaitDetail = "Too many failed sign-ins for this account from your address; wait before trying again.";

    /// <summary>Addresses with recent failures kept per account; with the ceiling below this, only a long attack fills it.</summary>
    public const int MaxFailingAddresses = 1024;

    /// <summary>Addresses remembered as having signed in (exempt from the account ceiling).</summary>
    public const int MaxTrustedAddresses = 32;

    private readonly Dictionary<string, AddressFailures> _failing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _trusted = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _accountFailures = new();

    /// <summary>Forgets what no longer limits anything; true when nothing is left (the holder may drop this guard).</summary>
    public bool Prune(DateTimeOffset now)
    {
        foreach (var (address, entry) in _failing.ToList())
        {
            entry.Forget(now - auth.LockoutDuration);
            if (entry.Times.Count == 0 && entry.LockedUntil <= now && entry.NextAllowed <= now)
            {
                _failing.Remove(address);
            }
        }

        foreach (var (address, at) in _trusted.ToList())
        {
            if (now - at >= limits.TrustedAddressLifetime)
            {
                _trusted.Remove(address);
            }
        }

        ForgetAccountFailures(now);
        return _failing.Count == 0 && _trusted.Count == 0 && _accountFailures.Count == 0;
    }

    public SignInCheck Check(string address, DateTimeOffset now)
    {
        if (_failing.TryGetValue(address, out var entry))
        {
            entry.Forget(now - auth.LockoutDuration);
            if (entry.LockedUntil > now)
            {
                return new SignInCheck(SignInVerdict.Locked, entry.LockedUntil - now);
            }

            if (entry.NextAllowed > now)
            {
                return new SignInCheck(SignInVerdict.Delayed, entry.NextAllowed - now);
            }
        }

        ForgetAccountFailures(now);
        if (_accountFailures.Count >= limits.AccountFailureCeiling && !IsTrusted(address, now))
        {
            return new SignInCheck(SignInVerdict.Ceiling, _accountFailures.Peek() + auth.LockoutDuration - now);
        }

        return SignInCheck.Allowed;
    }

    /// <summary>Counts a wrong password from <paramref name="address"/>; true when it locks the address out now.</summary>
    public bool RecordFailure(string address, DateTimeOffset now)
    {
        if (!_failing.TryGetValue(address, out var entry))
        {
            if (_failing.Count >= MaxFailingAddresses)
            {
                _failing.Remove(_failing.MinBy(e => e.Value.LastFailure).Key);
            }

            entry = _failing[address] = new AddressFailures();
        }

        entry.Forget(now - auth.LockoutDuration);
        entry.Times.Enqueue(now);
        entry.LastFailure = now;
        _accountFailures.Enqueue(now);
        while (_accountFailures.Count > limits.AccountFailureCeiling)
        {
            _accountFailures.Dequeue();
        }

        if (entry.Times.Count >= auth.LockoutThreshold)
        {
            entry.Times.Clear();
            entry.LockedUntil = now + auth.LockoutDuration;
            return true;
        }

        entry.NextAllowed = now + DelayAfter(entry.Times.Count);
        return false;
    }

    public void RecordSuccess(string address, DateTimeOffset now)
    {
        _failing.Remove(address);
        if (!_trusted.ContainsKey(address) && _trusted.Count >= MaxTrustedAddresses)
        {
            _trusted.Remove(_trusted.MinBy(e => e.Value).Key);
        }

        _trusted[address] = now;
    }

    /// <summary>The wait after <paramref name="failures"/> recent failures: none at first, then doubling up to the cap.</summary>
    public TimeSpan DelayAfter(int failures)
    {
        if (limits.DelayBase <= TimeSpan.Zero || failures < limits.DelayAfterFailures)
        {
            return TimeSpan.Zero;
        }

        var doublings = Math.Min(failures - limits.DelayAfterFailures, 30);
        var delay = limits.DelayBase.TotalMilliseconds * Math.Pow(2, doublings);
        return TimeSpan.FromMilliseconds(Math.Min(delay, limits.DelayMax.TotalMilliseconds));
    }

    private bool IsTrusted(string address, DateTimeOffset now) =>
        _trusted.TryGetValue(address, out var at) && now - at < limits.TrustedAddressLifetime;

    private void ForgetAccountFailures(DateTimeOffset now)
    {
        while (_accountFailures.TryPeek(out var oldest) && oldest <= now - auth.LockoutDuration)
        {
            _accountFailures.Dequeue();
        }
    }

    private sealed class AddressFailures
    {
        public Queue<DateTimeOffset> Times { get; } = new();

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset NextAllowed { get; set; }

        public DateTimeOffset LockedUntil { get; set; }

        public void Forget(DateTimeOffset before)
        {
            while (Times.TryPeek(out var oldest) && oldest <= before)
            {
                Times.Dequeue();
            }
        }
    }
}
