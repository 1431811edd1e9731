using System.Security.Cryptography;
using System.Text;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Webhooks;

/// <summary>
/// Encrypts webhook signing secrets for the database (AES-256-GCM, authenticated) under a key derived from the cluster's
/// caller keys, which every node holds and the database never does. Layout: key id (8 bytes), nonce (12), tag (16),
/// ciphertext. A secret stored under a caller key that is still listed (after a rotation) still opens.
/// </summary>
public sealed class WebhookSecretBox
{
    private const int IdSize = 8;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly (byte[] Id, byte[] Key)[] _keys;

    public WebhookSecretBox(CallerSigner signer) =>
        _keys = [.. signer.DeriveKeys("shohayota.webhook-secret.v1").Select(k => (SHA256.HashData(k)[..IdSize], k))];

    public byte[] Seal(string secret)
    {
        var plain = Encoding.ASCII.GetBytes(secret);
        var sealedBox = new byte[IdSize + NonceSize + TagSize + plain.Length];
        var (id, key) = _keys[0];
        id.CopyTo(sealedBox, 0);
        var nonce = sealedBox.AsSpan(IdSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plain, sealedBox.AsSpan(IdSize + NonceSize + TagSize), sealedBox.AsSpan(IdSize + NonceSize, TagSize), id);
        return sealedBox;
    }

    /// <summary>The secret, or null when no key this node holds opens it (sealed elsewhere, or altered).</summary>
    public string? Open(byte[] sealedBox)
    {
        if (sealedBox.Length <= IdSize + NonceSize + TagSize)
        {
            return null;
        }

        var id = sealedBox.AsSpan(0, IdSize);
        foreach (var (keyId, key) in _keys)
        {
            if (!id.SequenceEqual(keyId))
            {
                continue;
            }

            var plain = new byte[sealedBox.Length - IdSize - NonceSize - TagSize];
            try
            {
                using var aes = new AesGcm(key, TagSize);
                aes.Decrypt(sealedBox.AsSpan(IdSize, NonceSize), sealedBox.AsSpan(IdSize + NonceSize + TagSize), sealedBox.AsSpan(IdSize + NonceSize, TagSize), plain, keyId);
                return Encoding.ASCII.GetString(plain);
            }
            catch (AuthenticationTagMismatchException)
            {
                return null;
            }
        }

        return null;
    }
}
