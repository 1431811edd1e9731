namespace Shohayota.Grains.Interfaces.Common;

/// <summary>What every CRM record has, whatever its type: an id, a version (the ETag) and its creation time.</summary>
public interface IRecordDetails
{
    Guid Id { get; }

    int Version { get; }

    DateTimeOffset CreatedAt { get; }
}

/// <summary>Record ids that a client's Idempotency-Key fixes, so a retried create reaches the same record's grain.</summary>
public static class RecordIds
{
    /// <summary>
    /// A name-based UUID (version 8) from SHA-256 over the record type, the tenant, the caller and the key: the same
    /// caller's retry finds the same id; another caller's, tenant's or record type's equal key finds another.
    /// </summary>
    public static Guid ForIdempotencyKey(string recordType, Guid tenantId, Guid userId, string key)
    {
        var text = System.Text.Encoding.UTF8.GetBytes($"shohayota/{recordType}-create/{tenantId:N}/{userId:N}/{key}");
        Span<byte> bytes = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(text, bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes[..16], bigEndian: true);
    }
}
