using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Shohayota.Grains.Security;

/// <summary>
/// PBKDF2-HMAC-SHA512 from the BCL at OWASP 2023 strength (210,000 iterations), stored as
/// <c>pbkdf2-sha512$iterations$salt$hash</c> so the cost can be raised later.
/// </summary>
public static class PasswordHashing
{
    public const int MinLength = 8;
    public const int MaxLength = 128;
    public const int Iterations = 210_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string Scheme = "pbkdf2-sha512";

    private static readonly Lazy<string> DummyHash = new(() => Hash("not-a-real-password"));

    /// <summary>Null when the password is acceptable, else why not (checked before any hashing).</summary>
    public static string? Validate(string? password) => password switch
    {
        null or "" => "A password is required.",
        { Length: < MinLength } => $"A password needs at least {MinLength} characters.",
        { Length: > MaxLength } => $"A password has at most {MaxLength} characters.",
        _ => null,
    };

    public static string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA512, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    public static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var iterations) ||
            password.Length > MaxLength)
        {
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Spends the same time as a real check, so unknown accounts answer as slowly as known ones.</summary>
    public static void VerifyAgainstDummy(string password) => Verify(password, DummyHash.Value);
}
