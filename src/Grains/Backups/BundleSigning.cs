using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Shohayota.Grains.Hosting;

namespace Shohayota.Grains.Backups;

/// <summary>A bundle's signature: which server key made it, and HMAC-SHA256 of the bundle's checksum under that key.</summary>
public sealed record BundleSignature(string KeyId, string Value)
{
    public const string Algorithm = "hmac-sha256";
}

/// <summary>What ends a bundle: its checksum (already checked against its bytes) and, for a server's own bundles, its signature.</summary>
public sealed record BundleSeal(string Checksum, BundleSignature? Signature);

/// <summary>
/// The server's bundle keys (<c>Shohayota:Backups:SigningKey</c> signs, it and <c>PreviousSigningKeys</c> verify, so a
/// key can be rotated without orphaning backups). Super-admin exports and backups are signed, tenant-admin exports are
/// not; a restore accepts only a bundle signed by a key listed here. The signature is HMAC-SHA256 of
/// <c>shohayota.bundle.v1:</c> followed by the checksum's hex: the checksum covers every byte before it, so the
/// signature does too, and checking it costs nothing beyond the checksum.
/// </summary>
public sealed class BundleSigner
{
    public const string SigningKeyName = "Shohayota:Backups:SigningKey";
    public const string PreviousKeysName = "Shohayota:Backups:PreviousSigningKeys";
    public const string KeyFile = "bundle-signing.key";
    private const string Context = "shohayota.bundle.v1:";

    private readonly (string Id, byte[] Key)[] _keys;

    public BundleSigner(IConfiguration configuration)
    {
        var current = LocalSecret.LoadOrCreate(configuration, SigningKeyName, KeyFile);
        var previous = LocalSecret.ParseList(configuration, PreviousKeysName);
        _keys = [.. new[] { current }.Concat(previous).Select(k => (KeyId(k), k))];
    }

    /// <summary>The id of the key that signs, as bundles and audit entries name it.</summary>
    public string CurrentKeyId => _keys[0].Id;

    /// <summary>A short public name of a key (a keyed hash, so it tells nothing about the key).</summary>
    public static string KeyId(byte[] key) => Convert.ToHexStringLower(HMACSHA256.HashData(key, "shohayota.bundle-key-id"u8))[..16];

    public BundleSignature Sign(string checksum) => new(_keys[0].Id, Mac(_keys[0].Key, checksum));

    /// <summary>Null when the bundle is signed by a key this server holds and the signature matches its checksum; else why not.</summary>
    public string? Check(BundleSeal seal)
    {
        if (seal.Signature is not { } signature)
        {
            return "signature: not signed: a tenant admin's export cannot be restored (it is made for data portability, without password hashes); " +
                "restore a super-admin's export or a backup.";
        }

        var key = _keys.FirstOrDefault(k => k.Id == signature.KeyId).Key;
        if (key is null)
        {
            return $"signature: signed with key {signature.KeyId}, which this server does not hold: a bundle of another installation, " +
                $"or of a key no longer listed in {PreviousKeysName}.";
        }

        var expected = Convert.FromHexString(Mac(key, seal.Checksum));
        return BundleFormat.TryParseHex(signature.Value, 32, out var stated) && CryptographicOperations.FixedTimeEquals(expected, stated)
            ? null
            : "signature does not match: the bundle was changed after the server exported it (its checksum recomputed), or it was signed elsewhere.";
    }

    private static string Mac(byte[] key, string checksum) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(Context + checksum)));
}
