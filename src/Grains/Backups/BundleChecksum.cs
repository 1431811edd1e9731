using System.Security.Cryptography;

namespace Shohayota.Grains.Backups;

/// <summary>
/// Checks a bundle's checksum in one pass while its bytes stream by: everything except the last few KiB is hashed
/// at once; the tail is held back until the end, where the last <c>,"checksum":</c> splits it into the rest of the
/// checked bytes and the checksum object itself, which must be exactly
/// <c>{"algorithm":"sha256","value":"&lt;64 lowercase hex digits&gt;"}</c>, then (in a server's signed bundles)
/// <c>,"signature":{…}</c>, then the document's end (JSON whitespace may follow).
/// </summary>
public sealed class BundleChecksum : IDisposable
{
    private const int Tail = 4096;
    private static ReadOnlySpan<byte> ObjectStart => "{\"algorithm\":\"sha256\",\"value\":\""u8;
    private static ReadOnlySpan<byte> ObjectEnd => "\"}}"u8;
    private static ReadOnlySpan<byte> SignatureStart => "\"},\"signature\":{\"algorithm\":\"hmac-sha256\",\"keyId\":\""u8;
    private static ReadOnlySpan<byte> SignatureMiddle => "\",\"value\":\""u8;

    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _tail = new byte[Tail];
    private int _held;

    public long Length { get; private set; }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        Length += bytes.Length;
        if (bytes.Length >= Tail)
        {
            _sha.AppendData(_tail.AsSpan(0, _held));
            _sha.AppendData(bytes[..^Tail]);
            bytes[^Tail..].CopyTo(_tail);
            _held = Tail;
            return;
        }

        var overflow = _held + bytes.Length - Tail;
        if (overflow > 0)
        {
            _sha.AppendData(_tail.AsSpan(0, overflow));
            _tail.AsSpan(overflow, _held - overflow).CopyTo(_tail);
            _held -= overflow;
        }

        bytes.CopyTo(_tail.AsSpan(_held));
        _held += bytes.Length;
    }

    /// <summary>The checksum the bundle states, after checking that its bytes hash to it, and its signature if it has one; throws a <see cref="BundleException"/> otherwise.</summary>
    public BundleSeal Complete()
    {
        var tail = _tail.AsSpan(0, _held);
        var marker = FindMarker(tail, Length);
        _sha.AppendData(tail[..marker]);
        var actual = BundleFormat.Hex(_sha.GetHashAndReset());
        var seal = ParseSeal(tail[(marker + BundleFormat.ChecksumMarker.Length)..]);
        if (seal.Checksum != actual)
        {
            throw new BundleException($"Checksum mismatch: the bundle states sha256 {seal.Checksum}, its bytes hash to {actual}; it was changed or damaged after export.");
        }

        return seal;
    }

    /// <summary>Checks the checksum of a bundle file.</summary>
    public static async Task<BundleSeal> VerifyFileAsync(string path, CancellationToken cancellationToken = default)
    {
        using var checksum = new BundleChecksum();
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
        {
            checksum.Append(buffer.AsSpan(0, read));
        }

        return checksum.Complete();
    }

    /// <summary>The checksum and signature at the end of a file whose checksum was already checked (while it was spooled).</summary>
    public static async Task<BundleSeal> ReadSealAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var tail = new byte[(int)Math.Min(Tail, file.Length)];
        file.Seek(-tail.Length, SeekOrigin.End);
        await file.ReadExactlyAsync(tail, cancellationToken);
        return ParseSeal(tail.AsSpan((FindMarker(tail, file.Length) + BundleFormat.ChecksumMarker.Length)..));
    }

    private static int FindMarker(ReadOnlySpan<byte> tail, long length)
    {
        var marker = tail.LastIndexOf(BundleFormat.ChecksumMarker);
        if (marker < 0)
        {
            throw new BundleException(length == 0
                ? "The body is empty: send a tenant export."
                : "The bundle has no checksum at its end: it is truncated, or not a Shohayota tenant export.");
        }

        return marker;
    }

    /// <summary>
    /// The bytes after <c>,"checksum":</c>: exactly <c>{"algorithm":"sha256","value":"…"}</c>, then either the end of the
    /// document or <c>,"signature":{"algorithm":"hmac-sha256","keyId":"…","value":"…"}</c> and the end (JSON whitespace may follow).
    /// </summary>
    private static BundleSeal ParseSeal(ReadOnlySpan<byte> rest)
    {
        if (!rest.StartsWith(ObjectStart) || rest.Length < ObjectStart.Length + 64 + ObjectEnd.Length)
        {
            throw new BundleException("The bundle's checksum is not {\"algorithm\":\"sha256\",\"value\":\"…\"} at its end: it is truncated or damaged.");
        }

        var stated = System.Text.Encoding.ASCII.GetString(rest.Slice(ObjectStart.Length, 64));
        if (!BundleFormat.TryParseHex(stated, 32, out _))
        {
            throw new BundleException("The bundle's checksum value is not 64 lowercase hex digits.");
        }

        var after = rest[(ObjectStart.Length + 64)..];
        BundleSignature? signature = null;
        if (after.StartsWith(SignatureStart))
        {
            var signed = after[SignatureStart.Length..];
            if (signed.Length < 16 + SignatureMiddle.Length + 64 || !signed[16..].StartsWith(SignatureMiddle))
            {
                throw new BundleException("The bundle's signature is not {\"algorithm\":\"hmac-sha256\",\"keyId\":\"…\",\"value\":\"…\"}: it is truncated or damaged.");
            }

            var keyId = System.Text.Encoding.ASCII.GetString(signed[..16]);
            var value = System.Text.Encoding.ASCII.GetString(signed.Slice(16 + SignatureMiddle.Length, 64));
            if (!BundleFormat.TryParseHex(keyId, 8, out _) || !BundleFormat.TryParseHex(value, 32, out _))
            {
                throw new BundleException("The bundle's signature is not a key id of 16 and a value of 64 lowercase hex digits.");
            }

            signature = new BundleSignature(keyId, value);
            after = signed[(16 + SignatureMiddle.Length + 64)..];
        }

        if (!after.StartsWith(ObjectEnd) || after[ObjectEnd.Length..].IndexOfAnyExcept(" \t\r\n"u8) >= 0)
        {
            throw new BundleException("The bundle does not end right after its checksum (and signature): it is truncated or damaged.");
        }

        return new BundleSeal(stated, signature);
    }

    /// <summary>SHA-256 of a whole file (manifests record it for every file of a backup).</summary>
    public static async Task<string> FileSha256Async(string path, CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        return BundleFormat.Hex(await SHA256.HashDataAsync(file, cancellationToken));
    }

    public void Dispose() => _sha.Dispose();
}

/// <summary>Why a bundle cannot be restored; the message names the place and the problem.</summary>
public sealed class BundleException : Exception
{
    public BundleException()
    {
    }

    public BundleException(string message)
        : base(message)
    {
    }

    public BundleException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
