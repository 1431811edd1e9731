using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Shohayota.Grains.Hosting;

namespace Shohayota.Api.Web;

/// <summary>
/// The key that encrypts the UI's data-protection key ring before it goes to the database
/// (<c>Shohayota:Ui:KeyEncryptionKey</c>, base64, at least 32 bytes; generated into <c>ui-key-encryption.key</c> under the
/// data directory in local mode). It never enters the database, so reading <c>ui_data_protection_keys</c> (the runtime
/// role, a pg_dump) gives no cookie keys. Keys listed in <c>Shohayota:Ui:RetiredKeyEncryptionKeys</c> (comma-separated)
/// still decrypt the ring's older keys after a rotation; new keys are always encrypted with the current one.
/// </summary>
public sealed class UiKeyEncryptionKeys
{
    public const string ConfigurationKey = "Shohayota:Ui:KeyEncryptionKey";
    public const string RetiredConfigurationKey = "Shohayota:Ui:RetiredKeyEncryptionKeys";
    public const string FileName = "ui-key-encryption.key";

    private readonly Dictionary<string, byte[]> _byId;

    private UiKeyEncryptionKeys(byte[] current, IEnumerable<byte[]> retired)
    {
        Current = Derive(current);
        CurrentId = IdOf(Current);
        _byId = retired.Select(Derive).Append(Current).DistinctBy(IdOf).ToDictionary(IdOf);
    }

    /// <summary>A short fingerprint of the current key (not the key): written beside every encrypted key, named in errors.</summary>
    public string CurrentId { get; }

    internal byte[] Current { get; }

    public IReadOnlyCollection<string> KnownIds => _byId.Keys;

    public static UiKeyEncryptionKeys Load(IConfiguration configuration)
    {
        var current = LocalSecret.LoadOrCreate(configuration, ConfigurationKey, FileName);
        var retired = LocalSecret.ParseList(configuration, RetiredConfigurationKey);
        return new UiKeyEncryptionKeys(current, retired);
    }

    internal byte[]? Find(string id) => _byId.GetValueOrDefault(id);

    // The configured secret may be any length ≥ 32 bytes; AES-256 takes exactly 32, derived for this one purpose.
    private static byte[] Derive(byte[] secret) => HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, info: "shohayota ui key ring"u8.ToArray());

    private static string IdOf(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key))[..16];
}

/// <summary>Encrypts each new data-protection key with AES-256-GCM under <see cref="UiKeyEncryptionKeys"/> (authenticated: a key
/// someone edited or wrote into the table without the key-encryption key does not decrypt).</summary>
public sealed class UiKeyEncryptor(UiKeyEncryptionKeys keys) : IXmlEncryptor
{
    public const string ElementName = "shohayotaEncryptedKey";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        var ciphertext = new byte[plaintext.Length];
        using (var aes = new AesGcm(keys.Current, tag.Length))
        {
            aes.Encrypt(nonce, plaintext, ciphertext, tag, Encoding.ASCII.GetBytes(keys.CurrentId));
        }

        var element = new XElement(
            ElementName,
            new XAttribute("algorithm", "AES-256-GCM"),
            new XAttribute("keyEncryptionKey", keys.CurrentId),
            new XComment($" Encrypted with {UiKeyEncryptionKeys.ConfigurationKey} (fingerprint above); the key is not in the database. "),
            new XElement("value", Convert.ToBase64String([.. nonce, .. tag, .. ciphertext])));
        return new EncryptedXmlInfo(element, typeof(UiKeyDecryptor));
    }
}

/// <summary>Decrypts what <see cref="UiKeyEncryptor"/> wrote; data protection creates it by type name with the service provider.</summary>
public sealed class UiKeyDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var keys = services.GetRequiredService<UiKeyEncryptionKeys>();
        var id = (string?)encryptedElement.Attribute("keyEncryptionKey") ?? "";
        var key = keys.Find(id) ?? throw new CryptographicException(
            $"This UI key was encrypted with key-encryption key {id}, which this node does not have (it has {keys.CurrentId}): " +
            $"set {UiKeyEncryptionKeys.ConfigurationKey} to the key every node of the cluster uses.");
        var sealedBytes = Convert.FromBase64String((string?)encryptedElement.Element("value") ?? "");
        var nonceSize = AesGcm.NonceByteSizes.MaxSize;
        var tagSize = AesGcm.TagByteSizes.MaxSize;
        if (sealedBytes.Length < nonceSize + tagSize)
        {
            throw new CryptographicException("This UI key's encrypted value is truncated.");
        }

        var plaintext = new byte[sealedBytes.Length - nonceSize - tagSize];
        using (var aes = new AesGcm(key, tagSize))
        {
            aes.Decrypt(sealedBytes.AsSpan(0, nonceSize), sealedBytes.AsSpan(nonceSize + tagSize), sealedBytes.AsSpan(nonceSize, tagSize), plaintext, Encoding.ASCII.GetBytes(id));
        }

        return XElement.Parse(Encoding.UTF8.GetString(plaintext));
    }
}
