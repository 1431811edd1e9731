using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Tests.Security;

public sealed class CallerSignerTests
{
    private static readonly byte[] Old = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] New = RandomNumberGenerator.GetBytes(32);
    private static readonly Caller Member = new(Guid.NewGuid(), Guid.NewGuid(), Roles.Member, "member@tenant.test");

    public static TheoryData<string> Alterations => ["tenant", "user", "role", "email", "admitted tenant", "request id", "expiry", "key id"];

    [Theory]
    [MemberData(nameof(Alterations))]
    public void AnyChangedFieldBreaksTheSignature(string field)
    {
        var signer = new CallerSigner([Old], TimeSpan.FromMinutes(5));
        var signed = signer.Sign(Member, Member.TenantId, "request-1");

        var altered = field switch
        {
            "tenant" => signed with { Caller = Member with { TenantId = Guid.NewGuid() } },
            "user" => signed with { Caller = Member with { UserId = Guid.NewGuid() } },
            "role" => signed with { Caller = Member with { Role = Roles.SuperAdmin } },
            "email" => signed with { Caller = Member with { Email = null } },
            "admitted tenant" => signed with { AdmittedTenant = Guid.NewGuid() },
            "request id" => signed with { RequestId = "request-2" },
            "expiry" => signed with { ExpiresAtUnixMs = signed.ExpiresAtUnixMs + 3_600_000 },
            _ => signed with { KeyId = signed.KeyId + 1 },
        };

        signer.Verify(signed).Should().Be(CallerCheck.Valid);
        signer.Verify(altered).Should().Be(CallerCheck.BadSignature);
    }

    [Fact]
    public void AnEnvelopeIsRefusedOnceItsLifetimeHasPassed()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var signer = new CallerSigner([Old], TimeSpan.FromMinutes(5), clock);
        var signed = signer.Sign(Member);

        clock.Advance(TimeSpan.FromMinutes(4));
        var within = signer.Verify(signed);
        clock.Advance(TimeSpan.FromMinutes(1));

        within.Should().Be(CallerCheck.Valid);
        signer.Verify(signed).Should().Be(CallerCheck.Expired);
    }

    [Fact]
    public void RotationWithTwoKeysKeepsEveryStepVerifiable()
    {
        var before = new CallerSigner([Old], TimeSpan.FromMinutes(5));
        var adding = new CallerSigner([Old, New], TimeSpan.FromMinutes(5));
        var swapped = new CallerSigner([New, Old], TimeSpan.FromMinutes(5));
        var after = new CallerSigner([New], TimeSpan.FromMinutes(5));

        adding.Verify(before.Sign(Member)).Should().Be(CallerCheck.Valid);
        before.Verify(adding.Sign(Member)).Should().Be(CallerCheck.Valid);
        adding.Verify(swapped.Sign(Member)).Should().Be(CallerCheck.Valid);
        swapped.Verify(adding.Sign(Member)).Should().Be(CallerCheck.Valid);
        after.Verify(swapped.Sign(Member)).Should().Be(CallerCheck.Valid);
        after.Verify(before.Sign(Member)).Should().Be(CallerCheck.BadSignature);
    }

    [Fact]
    public void VerifyingAllocatesNothing()
    {
        var signer = new CallerSigner([Old, New], TimeSpan.FromMinutes(5));
        var signed = signer.Sign(Member, Member.TenantId, "0HN7:00000001");
        signer.Verify(signed);

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            signer.Verify(signed);
        }

        (GC.GetAllocatedBytesForCurrentThread() - allocated).Should().Be(0);
    }
}
