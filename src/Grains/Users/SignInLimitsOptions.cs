using System.ComponentModel.DataAnnotations;

namespace Shohayota.Grains.Users;

/// <summary>
/// Limits on sign-in attempts checked before any password hash (README "Abuse resistance"). The per-(account, address)
/// lockout keeps its keys <c>Shohayota:Auth:LockoutThreshold</c> and <c>LockoutDuration</c> in <see cref="AuthOptions"/>.
/// </summary>
public sealed class SignInLimitsOptions
{
    public const string SectionName = "Shohayota:Auth:SignIn";

    /// <summary>Sign-in attempts one client address (an IPv6 /64) may make per <see cref="AddressWindow"/> on one node.</summary>
    [Range(1, 1_000_000)]
    public int AddressPermitLimit { get; set; } = 20;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan AddressWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Segments of the sliding window: the window moves by <see cref="AddressWindow"/> / this.</summary>
    [Range(1, 60)]
    public int AddressWindowSegments { get; set; } = 6;

    /// <summary>Client addresses whose windows one node keeps; beyond it the least recently seen is forgotten.</summary>
    [Range(100, 10_000_000)]
    public int MaxTrackedAddresses { get; set; } = 100_000;

    /// <summary>Password hashes one process computes at once; unset means the number of cores.</summary>
    [Range(1, 1024)]
    public int? HashConcurrency { get; set; }

    /// <summary>Sign-ins that may wait for a hash slot; beyond them sign-in answers 503 at once.</summary>
    [Range(0, 10_000)]
    public int HashQueueLimit { get; set; } = 8;

    /// <summary>How long a queued sign-in waits for a hash slot before it answers 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan HashQueueTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Failures from one address for one account (within the lockout duration) before each next try must wait.</summary>
    [Range(1, 1000)]
    public int DelayAfterFailures { get; set; } = 3;

    /// <summary>The first wait, doubled per further failure; zero turns the progressive delay off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DelayBase { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DelayMax { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Failed sign-ins one account takes (from all addresses, within the lockout duration) before only addresses that
    /// recently signed in to it may try.
    /// </summary>
    [Range(1, 1_000_000)]
    public int AccountFailureCeiling { get; set; } = 100;

    /// <summary>How long an address that signed in successfully stays exempt from the account ceiling.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan TrustedAddressLifetime { get; set; } = TimeSpan.FromDays(30);

    public int EffectiveHashConcurrency => HashConcurrency ?? Environment.ProcessorCount;
}
