using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Shohayota.Grains.Hosting;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Security;

/// <summary>What <see cref="CallerSigner.Verify"/> found in a call's envelope.</summary>
public enum CallerCheck
{
    Valid,
    Missing,
    BadSignature,
    Expired,

    /// <summary>A reminder tick sent by a cluster client: only the cluster's reminder service delivers reminders.</summary>
    ReminderFromClient,
}

/// <summary>
/// Signs the caller that crosses a grain call with HMAC-SHA256 under the cluster's caller key, and verifies it on every
/// call. Only a node holding <c>Shohayota:Cluster:CallerKeys</c> can sign, so nothing a cluster client puts in
/// RequestContext is believed. Several keys (comma-separated) allow rotation: the first signs, every one verifies.
/// Expiry is measured on the system clock: it bounds a captured envelope's life, not business time (tests move that).
/// </summary>
public sealed class CallerSigner
{
    public const string KeysKey = "Shohayota:Cluster:CallerKeys";
    public const string LifetimeKey = "Shohayota:Cluster:CallerLifetime";
    public const string KeyFileName = "cluster-caller.key";
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(15);
    private const int MinimumKeyBytes = 32;
    private const byte FormatVersion = 2;

    [ThreadStatic]
    private static IncrementalHash? _threadHmac;

    [ThreadStatic]
    private static byte[]? _threadHmacKey;

    private readonly byte[][] _keys;
    private readonly int[] _keyIds;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _clock;

    public CallerSigner(IReadOnlyList<byte[]> keys, TimeSpan lifetime, TimeProvider? clock = null)
    {
        if (keys.Count == 0 || keys.Any(k => k.Length < MinimumKeyBytes))
        {
            throw new StartupRefusedException($"{KeysKey} needs one or more base64 keys of at least {MinimumKeyBytes} bytes.");
        }

        if (lifetime <= TimeSpan.Zero || lifetime > TimeSpan.FromDays(1))
        {
            throw new StartupRefusedException($"{LifetimeKey} must be between 00:00:01 and 1.00:00:00.");
        }

        _keys = [.. keys];
        _keyIds = [.. keys.Select(KeyIdOf)];
        _lifetime = lifetime;
        _clock = clock ?? TimeProvider.System;
    }

    public TimeSpan Lifetime => _lifetime;

    /// <summary>
    /// Keys for another purpose, derived from the cluster's caller keys (HKDF-SHA256 with <paramref name="purpose"/> as its
    /// info), current first: every node holds them, the database never does, and a rotation that keeps the old caller key
    /// listed keeps what the old derived key protected readable.
    /// </summary>
    internal IReadOnlyList<byte[]> DeriveKeys(string purpose) =>
        [.. _keys.Select(key => HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, info: Encoding.ASCII.GetBytes(purpose)))];

    /// <summary>From configuration (comma-separated base64 keys), or one key generated once under the data directory (local mode).</summary>
    public static CallerSigner Create(IConfiguration configuration)
    {
        var keys = string.IsNullOrWhiteSpace(configuration[KeysKey])
            ? [LocalSecret.LoadOrCreate(configuration, KeysKey, KeyFileName, MinimumKeyBytes)]
            : LocalSecret.ParseList(configuration, KeysKey, MinimumKeyBytes);
        var lifetime = configuration[LifetimeKey] is { Length: > 0 } text
            ? TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new StartupRefusedException($"{LifetimeKey} must be a time span between 00:00:01 and 1.00:00:00, not '{text}'.")
            : DefaultLifetime;
        return new CallerSigner(keys, lifetime);
    }

    /// <summary>A fresh envelope for <paramref name="caller"/>, valid for the configured lifetime.</summary>
    public SignedCaller Sign(Caller caller, Guid? admittedTenant = null, string? requestId = null)
    {
        var unsigned = new SignedCaller(caller, admittedTenant, requestId, _clock.GetUtcNow().Add(_lifetime).ToUnixTimeMilliseconds(), _keyIds[0], []);
        return unsigned with { Signature = Mac(_keys[0], unsigned) };
    }

    /// <summary>Makes <paramref name="caller"/> the signed caller of the grain calls that follow in this async flow.</summary>
    public void Enter(Caller caller, Guid? admittedTenant = null) =>
        RequestContext.Set(Caller.ContextKey, Sign(caller, admittedTenant, Caller.RequestId));

    /// <summary>The cluster's own work (bootstrap, schedules, the audit of refused calls), signed here and now.</summary>
    public void EnterSystem() => Enter(Caller.System);

    /// <summary>Checks the signature and the expiry; allocation-free, it runs on every grain call.</summary>
    public CallerCheck Verify(SignedCaller? envelope)
    {
        if (envelope?.Caller is null || envelope.Signature is null)
        {
            return CallerCheck.Missing;
        }

        var index = Array.IndexOf(_keyIds, envelope.KeyId);
        if (index < 0 || envelope.Signature.Length != SHA256.HashSizeInBytes)
        {
            return CallerCheck.BadSignature;
        }

        Span<byte> expected = stackalloc byte[SHA256.HashSizeInBytes];
        Mac(_keys[index], envelope, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, envelope.Signature))
        {
            return CallerCheck.BadSignature;
        }

        return envelope.ExpiresAtUnixMs <= _clock.GetUtcNow().ToUnixTimeMilliseconds() ? CallerCheck.Expired : CallerCheck.Valid;
    }

    private static byte[] Mac(byte[] key, SignedCaller envelope)
    {
        var mac = new byte[SHA256.HashSizeInBytes];
        Mac(key, envelope, mac);
        return mac;
    }

    /// <summary>HMAC over a canonical encoding of every field but the signature (length-prefixed strings, fixed-size numbers).</summary>
    private static void Mac(byte[] key, SignedCaller envelope, Span<byte> destination)
    {
        var caller = envelope.Caller;
        var size = 1 + 16 + 16 + 1 + 17 + 17 + 8 + 4 + (4 * 4) +
                   Encoding.UTF8.GetMaxByteCount((caller.Role?.Length ?? 0) + (caller.Email?.Length ?? 0) + (caller.SupportBy?.Length ?? 0) + (envelope.RequestId?.Length ?? 0));
        byte[]? rented = null;
        var buffer = size <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(size));
        try
        {
            buffer[0] = FormatVersion;
            caller.TenantId.TryWriteBytes(buffer[1..]);
            caller.UserId.TryWriteBytes(buffer[17..]);
            var position = 33;
            position += WriteString(buffer[position..], caller.Role);
            position += WriteString(buffer[position..], caller.Email);
            buffer[position++] = caller.ApiKey ? (byte)1 : (byte)0;
            buffer[position++] = caller.SupportSession.HasValue ? (byte)1 : (byte)0;
            (caller.SupportSession ?? Guid.Empty).TryWriteBytes(buffer[position..]);
            position += 16;
            position += WriteString(buffer[position..], caller.SupportBy);
            buffer[position++] = envelope.AdmittedTenant.HasValue ? (byte)1 : (byte)0;
            (envelope.AdmittedTenant ?? Guid.Empty).TryWriteBytes(buffer[position..]);
            position += 16;
            position += WriteString(buffer[position..], envelope.RequestId);
            BinaryPrimitives.WriteInt64LittleEndian(buffer[position..], envelope.ExpiresAtUnixMs);
            position += 8;
            BinaryPrimitives.WriteInt32LittleEndian(buffer[position..], envelope.KeyId);
            position += 4;
            var hmac = Hmac(key);
            hmac.AppendData(buffer[..position]);
            hmac.GetHashAndReset(destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// This thread's HMAC state for <paramref name="key"/>, reset after each use: the key is set up once per thread, not
    /// once per MAC (two MACs and two verifications per request on the hot path).
    /// </summary>
    private static IncrementalHash Hmac(byte[] key)
    {
        if (!ReferenceEquals(_threadHmacKey, key) || _threadHmac is null)
        {
            _threadHmac?.Dispose();
            _threadHmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            _threadHmacKey = key;
        }

        return _threadHmac;
    }

    private static int WriteString(Span<byte> destination, string? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination, -1);
            return 4;
        }

        var length = Encoding.UTF8.GetBytes(value, destination[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(destination, length);
        return 4 + length;
    }

    private static int KeyIdOf(byte[] key) => BinaryPrimitives.ReadInt32LittleEndian(SHA256.HashData(key));
}
