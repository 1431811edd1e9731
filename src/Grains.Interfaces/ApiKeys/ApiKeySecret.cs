using System.Security.Cryptography;
using System.Text;

namespace Shohayota.Grains.Interfaces.ApiKeys;

/// <summary>
/// The secret of a tenant API key: <c>shy_</c> and 43 base62 characters drawn from the system's CSPRNG (43 × log2 62 ≈
/// 256.03 bits). Stored and looked up only as its SHA-256: a secret with 256 random bits needs no slow hash.
/// </summary>
public static class ApiKeySecret
{
    public const string Scheme = "shy_";
    public const int RandomLength = 43;
    public const int Length = 4 + RandomLength;
    public const int PrefixLength = 12;
    public const int MaxNameLength = 100;
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Create() => Scheme + RandomNumberGenerator.GetString(Base62, RandomLength);

    /// <summary>Whether <paramref name="value"/> has a key's shape (checked before any lookup).</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> value)
    {
        if (value.Length != Length || !value.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value[Scheme.Length..])
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The SHA-256 of the secret's UTF-8 bytes (the secret is ASCII).</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.ASCII.GetBytes(secret));

    public static void Hash(ReadOnlySpan<char> secret, Span<byte> destination)
    {
        Span<byte> ascii = stackalloc byte[Length];
        var written = Encoding.ASCII.GetBytes(secret, ascii);
        SHA256.HashData(ascii[..written], destination);
    }

    public static string Prefix(string secret) => secret[..PrefixLength];

    /// <summary>Why a name is not valid, or null.</summary>
    /// <summary>The highest rate limit (requests a minute) a key may carry of its own.</summary>
    public const int MaxRateLimitPerMinute = 1_000_000;

    /// <summary>A key's own rate limit: none (the tenant's only), or 1 to <see cref="MaxRateLimitPerMinute"/> requests a minute.</summary>
    public static string? ValidateRateLimit(int? perMinute) =>
        perMinute is null or (>= 1 and <= MaxRateLimitPerMinute) ? null
        : $"A key's own rate limit is 1 to {MaxRateLimitPerMinute:N0} requests a minute (or none: the organization's limit only).";

    public static string? ValidateName(string? name) =>
        string.IsNullOrWhiteSpace(name) ? "A name is required."
        : name.Trim().Length > MaxNameLength ? $"A name has at most {MaxNameLength} characters."
        : name.Any(char.IsControl) ? "A name may not contain control characters."
        : null;
}
