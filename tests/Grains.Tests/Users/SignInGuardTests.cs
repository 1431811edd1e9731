using Shohayota.Grains.Users;

namespace Shohayota.Grains.Tests.Users;

/// <summary>The per-account sign-in rules the user grain keeps, on a clock the test moves.</summary>
public sealed class SignInGuardTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheDelayStartsAfterTheFreeFailuresAndDoublesUpToTheCap()
    {
        var guard = Guard(new SignInLimitsOptions { DelayAfterFailures = 3, DelayBase = TimeSpan.FromSeconds(1), DelayMax = TimeSpan.FromSeconds(5) });

        var delays = Enumerable.Range(1, 7).Select(guard.DelayAfter).ToList();

        delays.Should().Equal(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4),
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void AnAddressThatReachedTheThresholdIsLockedOutForTheDurationAndOnlyIt()
    {
        var guard = Guard(new SignInLimitsOptions { DelayBase = TimeSpan.Zero });
        var locks = Enumerable.Range(0, 10).Select(i => guard.RecordFailure("203.0.113.9", Start.AddSeconds(i))).ToList();

        var locked = guard.Check("203.0.113.9", Start.AddMinutes(10));
        var other = guard.Check("198.51.100.1", Start.AddMinutes(10));
        var later = guard.Check("203.0.113.9", Start.AddSeconds(9).AddMinutes(15));

        locks.Should().Equal(Enumerable.Repeat(false, 9).Append(true), "the tenth failure locks, once");
        locked.Verdict.Should().Be(SignInVerdict.Locked);
        other.Should().Be(SignInCheck.Allowed);
        later.Should().Be(SignInCheck.Allowed, "the lockout lasts LockoutDuration");
    }

    [Fact]
    public void PastTheAccountCeilingOnlyAddressesThatSignedInRecentlyMayTry()
    {
        var guard = Guard(new SignInLimitsOptions { DelayBase = TimeSpan.Zero, AccountFailureCeiling = 5 });
        guard.RecordSuccess("192.0.2.1", Start);
        for (var i = 0; i < 5; i++)
        {
            guard.RecordFailure($"203.0.113.{i + 1}", Start.AddMinutes(1).AddSeconds(i));
        }

        var newcomer = guard.Check("198.51.100.7", Start.AddMinutes(2));
        var owner = guard.Check("192.0.2.1", Start.AddMinutes(2));
        var afterTheWindow = guard.Check("198.51.100.7", Start.AddMinutes(16));

        newcomer.Verdict.Should().Be(SignInVerdict.Ceiling);
        newcomer.Wait.Should().Be(TimeSpan.FromMinutes(14), "until the oldest failure leaves the 15-minute window");
        owner.Should().Be(SignInCheck.Allowed, "an address that signed in to the account is exempt");
        afterTheWindow.Should().Be(SignInCheck.Allowed);
    }

    [Theory]
    [InlineData("203.0.113.9", "203.0.113.9")]
    [InlineData("::ffff:203.0.113.9", "203.0.113.9")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::/64", "2001:db8:1:2::/64")]
    [InlineData(null, "unknown")]
    [InlineData("not an address", "unknown")]
    public void AddressesAreCountedPerIpv4AddressAndPerIpv6Slash64(string? address, string key) =>
        SignInAddress.Normalize(address).Should().Be(key);

    private static SignInGuard Guard(SignInLimitsOptions limits) => new(new AuthOptions(), limits);
}
