using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Shohayota.Api.Auth;

namespace Shohayota.Api.Tests.Auth;

public sealed class SignInMonitorTests
{
    [Fact]
    public void UnknownEmailTalliesAreBoundedAndTheOverflowIsFoldedIntoOneEntry()
    {
        var monitor = new SignInMonitor(new FakeTimeProvider(DateTimeOffset.UtcNow), Options.Create(new SignInAuditOptions { MaxAddresses = 3 }));

        for (var i = 1; i <= 10; i++)
        {
            for (var attempt = 0; attempt < i; attempt++)
            {
                monitor.Record(SignInResult.UnknownEmail, IPAddress.Parse($"203.0.113.{i}"));
            }
        }

        var tallies = monitor.DrainUnknownEmails();
        tallies.Select(t => (t.Address, t.Attempts)).Should().Equal(
            ("203.0.113.3", 3), ("203.0.113.2", 2), ("203.0.113.1", 1), (SignInMonitor.OtherAddresses, 4 + 5 + 6 + 7 + 8 + 9 + 10));
        monitor.DrainUnknownEmails().Should().BeEmpty();
        monitor.Count(SignInResult.UnknownEmail).Should().Be(55);
    }

    [Fact]
    public void RecentFailuresCountFailedUnknownAndThrottledAttemptsOverFiveMinutesOnly()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var monitor = new SignInMonitor(clock, Options.Create(new SignInAuditOptions()));

        monitor.Record(SignInResult.Failed, null);
        monitor.Record(SignInResult.UnknownEmail, null);
        monitor.Record(SignInResult.Throttled, null);
        monitor.Record(SignInResult.Succeeded, null);
        monitor.Record(SignInResult.Busy, null);
        var now = monitor.RecentFailures();
        clock.Advance(TimeSpan.FromMinutes(3));
        monitor.Record(SignInResult.Failed, null);
        var later = monitor.RecentFailures();
        clock.Advance(TimeSpan.FromMinutes(2.5));
        var afterWindow = monitor.RecentFailures();
        clock.Advance(TimeSpan.FromMinutes(3));

        now.Should().Be(3);
        later.Should().Be(4);
        afterWindow.Should().Be(1);
        monitor.RecentFailures().Should().Be(0);
        monitor.Count(SignInResult.Failed).Should().Be(2);
    }
}
