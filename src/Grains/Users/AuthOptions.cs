using System.ComponentModel.DataAnnotations;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Users;

public sealed class AuthOptions
{
    public const string SectionName = "Shohayota:Auth";

    /// <summary>Base64 HMAC-SHA256 key (at least 32 bytes). Generated under the data directory when unset.</summary>
    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = "shohayota";

    /// <summary>
    /// PBKDF2 iterations of new and changed passwords (each stored hash keeps its own count, so a change leaves every
    /// password valid); also the cost an unknown account's sign-in spends. A node refuses to start outside the range.
    /// </summary>
    [Range(PasswordHashing.MinIterations, PasswordHashing.MaxIterations)]
    public int PasswordHashIterations { get; set; } = PasswordHashing.DefaultIterations;

    public string Audience { get; set; } = "shohayota-api";

    [Range(typeof(TimeSpan), "00:00:30", "00:15:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Validated access tokens one node keeps until they expire (0: validate every request in full).</summary>
    [Range(0, 1_000_000)]
    public int TokenCacheSize { get; set; } = 10_000;

    [Range(typeof(TimeSpan), "00:05:00", "90.00:00:00")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Failures from one client address within <see cref="LockoutDuration"/> that lock that address (only) out of the account.</summary>
    [Range(1, 1000)]
    public int LockoutThreshold { get; set; } = 10;

    /// <summary>How long a locked-out address stays out, and the window failures are counted in (per address and account-wide).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);
}
