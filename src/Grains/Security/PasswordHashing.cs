using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Shohayota.Grains.Security;

/// <summary>
/// PBKDF2-HMAC-SHA512 from the BCL, by default at OWASP 2023 strength (210,000 iterations; new hashes take
/// <c>Shohayota:Auth:PasswordHashIterations</c>), stored as <c>pbkdf2-sha512$iterations$salt$hash</c>: each hash keeps
/// its own count, so raising the cost leaves every stored password valid.
/// </summary>
public static class PasswordHashing
{
    public const int MinLength = 8;
    public const int MaxLength = 128;
    public const int DefaultIterations = 210_000;

    /// <summary>
    /// Iteration counts a hash may have, stored (restored from a bundle, or written before the cost changed) or new (the
    /// setting's range): enough to be a real PBKDF2, and few enough that one sign-in cannot tie up a thread for long.
    /// </summary>
    public const int MinIterations = 100_000;
    public const int MaxIterations = 1_000_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string Scheme = "pbkdf2-sha512";

    // One per iteration count a process hashes with (one in practice: the setting's).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> DummyHashes = new();

    /// <summary>
    /// Null when the password is acceptable for the account with this <paramref name="email"/>, else why not (checked
    /// before any hashing): 8 to 128 characters, not one of the most common passwords, not the e-mail address or its
    /// part before the @ (case-insensitive).
    /// </summary>
    public static string? Validate(string? password, string? email = null) => password switch
    {
        null or "" => "A password is required.",
        { Length: < MinLength } => $"A password needs at least {MinLength} characters.",
        { Length: > MaxLength } => $"A password has at most {MaxLength} characters.",
        _ when CommonPasswords.Contains(password) => "This password is one of the most commonly used passwords; choose another.",
        _ when IsEmail(password, email) => "A password must not be the e-mail address or its part before the @.",
        _ => null,
    };

    private static bool IsEmail(string password, string? email)
    {
        var address = email?.Trim() ?? "";
        var at = address.LastIndexOf('@');
        return address.Length > 0 && (password.Equals(address, StringComparison.OrdinalIgnoreCase) ||
            at > 0 && password.Equals(address[..at], StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A new hash of <paramref name="password"/> with <paramref name="iterations"/> (the setting's count; within <see cref="MinIterations"/> to <see cref="MaxIterations"/>).</summary>
    public static string Hash(string password, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinIterations);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaxIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Null when a stored hash is one this server would write or accept (scheme, iteration range, salt and hash sizes); else why not.</summary>
    public static string? CheckStored(string? stored) => Parse(stored).Problem;

    public static bool Verify(string password, string stored)
    {
        var (iterations, salt, expected, problem) = Parse(stored);
        if (problem is not null || password.Length > MaxLength)
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static (int Iterations, byte[] Salt, byte[] Hash, string? Problem) Parse(string? stored)
    {
        var parts = stored?.Split('$') ?? [];
        if (parts.Length != 4 || parts[0] != Scheme)
        {
            return (0, [], [], $"not a {Scheme}$iterations$salt$hash password hash");
        }

        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations is < MinIterations or > MaxIterations)
        {
            return (0, [], [], $"the iteration count {parts[1]} is outside the accepted {MinIterations:N0} to {MaxIterations:N0}");
        }

        var salt = new byte[64];
        var hash = new byte[128];
        if (!Convert.TryFromBase64String(parts[2], salt, out var saltBytes) || saltBytes < SaltBytes ||
            !Convert.TryFromBase64String(parts[3], hash, out var hashBytes) || hashBytes < HashBytes)
        {
            return (0, [], [], $"salt and hash must be base64 of at least {SaltBytes} and {HashBytes} bytes");
        }

        return (iterations, salt[..saltBytes], hash[..hashBytes], null);
    }

    /// <summary>
    /// Spends the same time as a real check of a hash with <paramref name="iterations"/> (the setting's: what new and
    /// changed passwords have), so unknown accounts answer as slowly as known ones.
    /// </summary>
    public static void VerifyAgainstDummy(string password, int iterations) =>
        Verify(password, DummyHashes.GetOrAdd(iterations, count => Hash("not-a-real-password", count)));
}
