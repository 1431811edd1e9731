using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Customers;

namespace Shohayota.Grains.Backups;

/// <summary>
/// The tenant bundle, version 1: compact UTF-8 JSON (no line breaks, keys in a fixed order), timestamps as UTC
/// <c>yyyy-MM-ddTHH:mm:ss.ffffffZ</c> (PostgreSQL's precision), hashes as lowercase hex. Its last key is
/// <c>"checksum"</c>: SHA-256 of every byte before the <c>,"checksum":</c> that introduces it.
/// </summary>
public static class BundleFormat
{
    public const string Export = "shohayota.tenant-export";
    public const string Increment = "shohayota.tenant-increment";
    public const int Version = 1;

    /// <summary>The bytes that start the checksum's key; the checksum covers everything before them.</summary>
    public static ReadOnlySpan<byte> ChecksumMarker => ",\"checksum\":"u8;

    public static readonly JsonWriterOptions WriterOptions = new()
    {
        // Every character a JSON string needs escaped (quotes, backslashes, control characters incl. line breaks) is;
        // other letters stay readable.
        Encoder = JavaScriptEncoder.Create(UnicodeRanges.All),
        Indented = false,
    };

    public static string Time(DateTimeOffset at) => AuditChain.FormatTime(at);

    public static bool TryParseTime(string text, out DateTimeOffset at) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at);

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Lowercase hex only: an uppercase digit is a different byte, and every byte of a bundle counts.</summary>
    public static bool TryParseHex(string text, int length, out byte[] bytes)
    {
        bytes = [];
        if (text.Length != length * 2 || text.Any(c => c is not (>= '0' and <= '9' or >= 'a' and <= 'f')))
        {
            return false;
        }

        bytes = Convert.FromHexString(text);
        return true;
    }

    /// <summary>A PostgreSQL array literal of the tags, so a batch can carry one text per row.</summary>
    internal static string TagsLiteral(IReadOnlyList<string> tags)
    {
        var literal = new StringBuilder("{");
        for (var i = 0; i < tags.Count; i++)
        {
            literal.Append(i == 0 ? "\"" : ",\"")
                .Append(tags[i].Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal))
                .Append('"');
        }

        return literal.Append('}').ToString();
    }
}

internal sealed record TenantRow(
    Guid Id, string Name, string ContactEmail, string Plan, string Status, string? StatusReason,
    DateTimeOffset CreatedAt, DateTimeOffset StatusChangedAt, DateTimeOffset? RetentionUntil, DateTimeOffset UpdatedAt);

internal sealed record UserRow(
    Guid Id, string Email, string Name, string Role, bool Disabled, int FailedLogins, DateTimeOffset? LockedUntil,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? PasswordHash);

internal sealed record OverrideRow(string Quota, long Value, DateTimeOffset? ExpiresAt, string? Reason, DateTimeOffset CreatedAt);

internal sealed record AuditCheckpoint(long Seq, byte[] Hash);

/// <summary>Where an increment continues from: the tenant's audit head in the previous backup.</summary>
internal sealed record BundleBase(string BackupId, long AuditSeq, byte[] AuditHash);

public sealed record BundleCounts(long Users, long Customers, long DeletedCustomers, long Overrides, long AuditLogs);

/// <summary>What writing a bundle produced: its checksum, size, counts and the tenant's audit head in it.</summary>
public sealed record BundleResult(string Format, string Checksum, string FileSha256, long Bytes, BundleCounts Counts, long AuditSeq, byte[] AuditHash);

/// <summary>Counts and hashes every byte written through it; the checksum prefix stops where the checksum key starts.</summary>
internal sealed class HashingStream(Stream inner) : Stream
{
    private readonly IncrementalHash _prefix = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _prefixDone;

    public long Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position
    {
        get => Written;
        set => throw new NotSupportedException();
    }

    /// <summary>The checksum of everything written so far; later bytes are no longer part of it.</summary>
    public byte[] FinishPrefix()
    {
        _prefixDone = true;
        return _prefix.GetHashAndReset();
    }

    public byte[] FinishWhole() => _whole.GetHashAndReset();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Hash(buffer);
        inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Hash(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _prefix.Dispose();
            _whole.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Hash(ReadOnlySpan<byte> bytes)
    {
        if (!_prefixDone)
        {
            _prefix.AppendData(bytes);
        }

        _whole.AppendData(bytes);
        Written += bytes.Length;
    }
}

/// <summary>Writes one bundle to a stream, flushing as it goes so memory stays flat whatever the tenant's size.</summary>
internal sealed class BundleWriter : IAsyncDisposable
{
    private const int FlushThreshold = 64 * 1024;
    private readonly HashingStream _output;
    private readonly Utf8JsonWriter _json;
    private readonly string _format;

    public BundleWriter(Stream output, string format, DateTimeOffset exportedAt, bool secrets)
    {
        _output = new HashingStream(output);
        _json = new Utf8JsonWriter(_output, BundleFormat.WriterOptions);
        _format = format;
        _json.WriteStartObject();
        _json.WriteString("format", format);
        _json.WriteNumber("version", BundleFormat.Version);
        _json.WriteString("exportedAt", BundleFormat.Time(exportedAt));
        _json.WriteBoolean("secrets", secrets);
    }

    public Utf8JsonWriter Json => _json;

    public void WriteBase(BundleBase since)
    {
        _json.WriteStartObject("since");
        _json.WriteString("backupId", since.BackupId);
        _json.WriteNumber("auditSeq", since.AuditSeq);
        _json.WriteString("auditHash", BundleFormat.Hex(since.AuditHash));
        _json.WriteEndObject();
    }

    public void WriteTenant(TenantRow t)
    {
        _json.WriteStartObject("tenant");
        _json.WriteString("id", t.Id.ToString("D"));
        _json.WriteString("name", t.Name);
        _json.WriteString("contactEmail", t.ContactEmail);
        _json.WriteString("plan", t.Plan);
        _json.WriteString("status", t.Status);
        _json.WriteString("statusReason", t.StatusReason);
        _json.WriteString("createdAt", BundleFormat.Time(t.CreatedAt));
        _json.WriteString("statusChangedAt", BundleFormat.Time(t.StatusChangedAt));
        WriteTime("retentionUntil", t.RetentionUntil);
        _json.WriteString("updatedAt", BundleFormat.Time(t.UpdatedAt));
        _json.WriteEndObject();
        _json.WriteString("plan", t.Plan);
    }

    public void WriteOverride(OverrideRow o)
    {
        _json.WriteStartObject();
        _json.WriteString("quota", o.Quota);
        _json.WriteNumber("value", o.Value);
        WriteTime("expiresAt", o.ExpiresAt);
        _json.WriteString("reason", o.Reason);
        _json.WriteString("createdAt", BundleFormat.Time(o.CreatedAt));
        _json.WriteEndObject();
    }

    public void WriteUser(UserRow u, bool secrets)
    {
        _json.WriteStartObject();
        _json.WriteString("id", u.Id.ToString("D"));
        _json.WriteString("email", u.Email);
        _json.WriteString("name", u.Name);
        _json.WriteString("role", u.Role);
        _json.WriteBoolean("disabled", u.Disabled);
        _json.WriteNumber("failedLogins", u.FailedLogins);
        WriteTime("lockedUntil", u.LockedUntil);
        _json.WriteString("createdAt", BundleFormat.Time(u.CreatedAt));
        _json.WriteString("updatedAt", BundleFormat.Time(u.UpdatedAt));
        if (secrets)
        {
            _json.WriteString("passwordHash", u.PasswordHash);
        }

        _json.WriteEndObject();
    }

    public void WriteCustomer(CustomerDetails c)
    {
        _json.WriteStartObject();
        _json.WriteString("id", c.Id.ToString("D"));
        _json.WriteString("name", c.Name);
        _json.WriteString("email", c.Email);
        _json.WriteString("phone", c.Phone);
        _json.WriteString("company", c.Company);
        _json.WriteString("status", c.Status);
        _json.WriteStartArray("tags");
        foreach (var tag in c.Tags)
        {
            _json.WriteStringValue(tag);
        }

        _json.WriteEndArray();
        _json.WriteString("notes", c.Notes);
        _json.WriteString("ownerUserId", c.OwnerUserId?.ToString("D"));
        _json.WriteString("createdAt", BundleFormat.Time(c.CreatedAt));
        _json.WriteString("updatedAt", BundleFormat.Time(c.UpdatedAt));
        _json.WriteNumber("version", c.Version);
        _json.WriteEndObject();
    }

    public void WriteCheckpoint(AuditCheckpoint? checkpoint)
    {
        if (checkpoint is null)
        {
            _json.WriteNull("auditCheckpoint");
            return;
        }

        _json.WriteStartObject("auditCheckpoint");
        _json.WriteNumber("seq", checkpoint.Seq);
        _json.WriteString("hash", BundleFormat.Hex(checkpoint.Hash));
        _json.WriteEndObject();
    }

    public void WriteAudit(AuditEntry e)
    {
        _json.WriteStartObject();
        _json.WriteNumber("seq", e.Seq);
        _json.WriteString("id", e.Id.ToString("D"));
        _json.WriteString("at", BundleFormat.Time(e.At));
        _json.WriteString("actorId", e.Actor.Id?.ToString("D"));
        _json.WriteString("actorEmail", e.Actor.Email);
        _json.WriteString("actorRole", e.Actor.Role);
        _json.WriteString("action", e.Action);
        _json.WriteString("targetType", e.TargetType);
        _json.WriteString("targetId", e.TargetId);
        _json.WriteString("outcome", e.Outcome);
        _json.WriteString("ip", e.Ip);
        _json.WriteString("userAgent", e.UserAgent);
        _json.WriteString("requestId", e.RequestId);
        _json.WriteString("details", e.Details);
        _json.WriteString("prevHash", BundleFormat.Hex(e.PrevHash));
        _json.WriteString("hash", BundleFormat.Hex(e.Hash));
        _json.WriteEndObject();
    }

    public async ValueTask MaybeFlushAsync(CancellationToken cancellationToken)
    {
        if (_json.BytesPending >= FlushThreshold)
        {
            await _json.FlushAsync(cancellationToken);
        }
    }

    /// <summary>Writes the counts, then the checksum of everything before it, and closes the document.</summary>
    public async Task<BundleResult> FinishAsync(BundleCounts counts, long auditSeq, byte[] auditHash, CancellationToken cancellationToken)
    {
        _json.WriteStartObject("counts");
        _json.WriteNumber("users", counts.Users);
        _json.WriteNumber("customers", counts.Customers);
        if (_format == BundleFormat.Increment)
        {
            _json.WriteNumber("deletedCustomers", counts.DeletedCustomers);
        }

        _json.WriteNumber("overrides", counts.Overrides);
        _json.WriteNumber("auditLogs", counts.AuditLogs);
        _json.WriteEndObject();
        await _json.FlushAsync(cancellationToken);
        var checksum = BundleFormat.Hex(_output.FinishPrefix());
        _json.WriteStartObject("checksum");
        _json.WriteString("algorithm", "sha256");
        _json.WriteString("value", checksum);
        _json.WriteEndObject();
        _json.WriteEndObject();
        await _json.FlushAsync(cancellationToken);
        await _output.FlushAsync(cancellationToken);
        return new BundleResult(_format, checksum, BundleFormat.Hex(_output.FinishWhole()), _output.Written, counts, auditSeq, auditHash);
    }

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync();
        await _output.DisposeAsync();
    }

    private void WriteTime(string name, DateTimeOffset? at)
    {
        if (at is { } value)
        {
            _json.WriteString(name, BundleFormat.Time(value));
        }
        else
        {
            _json.WriteNull(name);
        }
    }
}
