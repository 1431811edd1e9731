using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Shohayota.Grains.Audit;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Grains.Backups;

/// <summary>
/// The tenant bundle, version 4: compact UTF-8 JSON (no line breaks, keys in a fixed order), timestamps as UTC
/// <c>yyyy-MM-ddTHH:mm:ss.ffffffZ</c> (PostgreSQL's precision), dates <c>yyyy-MM-dd</c>, amounts as exact JSON numbers,
/// hashes as lowercase hex. Its last key is <c>"checksum"</c>: SHA-256 of every byte before the <c>,"checksum":</c> that
/// introduces it; a server's own bundles (super-admin exports, backups) follow it with <c>"signature"</c> (see
/// <see cref="BundleSigner"/>). Version 2 added contacts, version 3 the pipeline and deals, version 4 activities
/// (<see cref="RecordSections"/>) and custom fields (the definitions and each customer's, contact's and deal's values);
/// older bundles still restore, as a tenant without those records (and, before version 3, without stage rows, before
/// version 4 without custom fields).
/// </summary>
public static class BundleFormat
{
    public const string Export = "shohayota.tenant-export";
    public const string Increment = "shohayota.tenant-increment";
    public const int Version = 4;

    /// <summary>The version that added custom fields: the <c>customFields</c> definitions and every customer's, contact's and deal's values.</summary>
    public const int CustomFieldsVersion = 4;

    /// <summary>The oldest version this server restores: backups and exports made before an upgrade must stay restorable.</summary>
    public const int OldestReadable = 1;

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

    public const string DateFormat = "yyyy-MM-dd";

    public static bool TryParseDate(string text, out DateOnly date) =>
        DateOnly.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

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

/// <summary>The rows a bundle holds per section; the deleted counts are an increment's removals (0 in a full export).</summary>
public sealed record BundleCounts(
    long Users, long Customers, long DeletedCustomers, long Contacts, long DeletedContacts, long Deals, long DeletedDeals, long Activities,
    long DeletedActivities, long Overrides, long AuditLogs);

/// <summary>What writing a bundle produced: its checksum, size, counts and the tenant's audit head in it.</summary>
public sealed record BundleResult(string Format, string Checksum, string FileSha256, long Bytes, BundleCounts Counts, long AuditSeq, byte[] AuditHash,
    string? SignedBy = null);

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

internal static class Names
{
    public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    public static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    public static readonly JsonEncodedText Email = JsonEncodedText.Encode("email");
    public static readonly JsonEncodedText Phone = JsonEncodedText.Encode("phone");
    public static readonly JsonEncodedText Company = JsonEncodedText.Encode("company");
    public static readonly JsonEncodedText FirstName = JsonEncodedText.Encode("firstName");
    public static readonly JsonEncodedText LastName = JsonEncodedText.Encode("lastName");
    public static readonly JsonEncodedText Title = JsonEncodedText.Encode("title");
    public static readonly JsonEncodedText CustomerId = JsonEncodedText.Encode("customerId");
    public static readonly JsonEncodedText ContactIds = JsonEncodedText.Encode("contactIds");
    public static readonly JsonEncodedText Amount = JsonEncodedText.Encode("amount");
    public static readonly JsonEncodedText Currency = JsonEncodedText.Encode("currency");
    public static readonly JsonEncodedText StageId = JsonEncodedText.Encode("stageId");
    public static readonly JsonEncodedText ExpectedCloseDate = JsonEncodedText.Encode("expectedCloseDate");
    public static readonly JsonEncodedText ClosedAt = JsonEncodedText.Encode("closedAt");
    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText Subject = JsonEncodedText.Encode("subject");
    public static readonly JsonEncodedText Body = JsonEncodedText.Encode("body");
    public static readonly JsonEncodedText DueAt = JsonEncodedText.Encode("dueAt");
    public static readonly JsonEncodedText AssigneeUserId = JsonEncodedText.Encode("assigneeUserId");
    public static readonly JsonEncodedText ContactId = JsonEncodedText.Encode("contactId");
    public static readonly JsonEncodedText DealId = JsonEncodedText.Encode("dealId");
    public static readonly JsonEncodedText CompletedAt = JsonEncodedText.Encode("completedAt");
    public static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind");
    public static readonly JsonEncodedText Probability = JsonEncodedText.Encode("probability");
    public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
    public static readonly JsonEncodedText Tags = JsonEncodedText.Encode("tags");
    public static readonly JsonEncodedText Notes = JsonEncodedText.Encode("notes");
    public static readonly JsonEncodedText OwnerUserId = JsonEncodedText.Encode("ownerUserId");
    public static readonly JsonEncodedText CustomFields = JsonEncodedText.Encode("customFields");
    public static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("createdAt");
    public static readonly JsonEncodedText UpdatedAt = JsonEncodedText.Encode("updatedAt");
    public static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    public static readonly JsonEncodedText Seq = JsonEncodedText.Encode("seq");
    public static readonly JsonEncodedText At = JsonEncodedText.Encode("at");
    public static readonly JsonEncodedText ActorId = JsonEncodedText.Encode("actorId");
    public static readonly JsonEncodedText ActorEmail = JsonEncodedText.Encode("actorEmail");
    public static readonly JsonEncodedText ActorRole = JsonEncodedText.Encode("actorRole");
    public static readonly JsonEncodedText Action = JsonEncodedText.Encode("action");
    public static readonly JsonEncodedText TargetType = JsonEncodedText.Encode("targetType");
    public static readonly JsonEncodedText TargetId = JsonEncodedText.Encode("targetId");
    public static readonly JsonEncodedText Outcome = JsonEncodedText.Encode("outcome");
    public static readonly JsonEncodedText Ip = JsonEncodedText.Encode("ip");
    public static readonly JsonEncodedText UserAgent = JsonEncodedText.Encode("userAgent");
    public static readonly JsonEncodedText RequestId = JsonEncodedText.Encode("requestId");
    public static readonly JsonEncodedText Details = JsonEncodedText.Encode("details");
    public static readonly JsonEncodedText PrevHash = JsonEncodedText.Encode("prevHash");
    public static readonly JsonEncodedText Hash = JsonEncodedText.Encode("hash");
}

/// <summary>Writes one bundle to a stream, flushing as it goes so memory stays flat whatever the tenant's size.</summary>
internal sealed class BundleWriter : IAsyncDisposable
{
    private const int FlushThreshold = 64 * 1024;
    private readonly HashingStream _output;
    private readonly Utf8JsonWriter _json;
    private readonly string _format;
    private readonly BundleSigner? _signer;

    /// <param name="signer">Signs the bundle after its checksum; null for a tenant admin's (unrestorable) export.</param>
    public BundleWriter(Stream output, string format, DateTimeOffset exportedAt, bool secrets, BundleSigner? signer)
    {
        _signer = signer;
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

    // Rows are the hot path (100,000 customers is a normal tenant): names pre-encoded, ids and times formatted without strings.
    public void WriteCustomer(CustomerDetails c)
    {
        _json.WriteStartObject();
        _json.WriteString(Names.Id, c.Id);
        _json.WriteString(Names.Name, c.Name);
        _json.WriteString(Names.Email, c.Email);
        _json.WriteString(Names.Phone, c.Phone);
        _json.WriteString(Names.Company, c.Company);
        _json.WriteString(Names.Status, c.Status);
        WriteTags(c.Tags);
        _json.WriteString(Names.Notes, c.Notes);
        WriteId(Names.OwnerUserId, c.OwnerUserId);
        WriteValues(c.CustomFields);
        WriteStamps(c.CreatedAt, c.UpdatedAt, c.Version);
        _json.WriteEndObject();
    }

    public void WriteContact(ContactDetails c)
    {
        _json.WriteStartObject();
        _json.WriteString(Names.Id, c.Id);
        _json.WriteString(Names.FirstName, c.FirstName);
        _json.WriteString(Names.LastName, c.LastName);
        _json.WriteString(Names.Email, c.Email);
        _json.WriteString(Names.Phone, c.Phone);
        _json.WriteString(Names.Title, c.Title);
        WriteId(Names.CustomerId, c.CustomerId);
        WriteId(Names.OwnerUserId, c.OwnerUserId);
        WriteTags(c.Tags);
        _json.WriteString(Names.Notes, c.Notes);
        WriteValues(c.CustomFields);
        WriteStamps(c.CreatedAt, c.UpdatedAt, c.Version);
        _json.WriteEndObject();
    }

    /// <summary>
    /// The tenant's custom-field definitions: an object with one array per record type (customers, contacts, deals, all
    /// always present), each in the fields' order, every field as <c>{key,label,type,options,required}</c> (options
    /// <c>[]</c> unless a select).
    /// </summary>
    public void WriteCustomFields(IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>> definitions)
    {
        _json.WriteStartObject(Names.CustomFields);
        foreach (var recordType in CustomFieldRecordTypes.All)
        {
            _json.WriteStartArray(recordType);
            foreach (var field in definitions.GetValueOrDefault(recordType) ?? [])
            {
                _json.WriteStartObject();
                _json.WriteString("key", field.Key);
                _json.WriteString("label", field.Label);
                _json.WriteString("type", field.Type);
                _json.WriteStartArray("options");
                foreach (var option in field.Options)
                {
                    _json.WriteStringValue(option);
                }

                _json.WriteEndArray();
                _json.WriteBoolean("required", field.Required);
                _json.WriteEndObject();
            }

            _json.WriteEndArray();
        }

        _json.WriteEndObject();
    }

    /// <summary>One stage of the pipeline; the array's order is the stages' order.</summary>
    public void WriteStage(PipelineStage s)
    {
        _json.WriteStartObject();
        _json.WriteString(Names.Id, s.Id);
        _json.WriteString(Names.Name, s.Name);
        _json.WriteString(Names.Kind, s.Kind);
        _json.WriteNumber(Names.Probability, s.Probability);
        _json.WriteEndObject();
    }

    /// <summary>One deal; the amount as the exact decimal it is (never through a float), the expected close date as yyyy-MM-dd.</summary>
    public void WriteDeal(DealDetails d)
    {
        _json.WriteStartObject();
        _json.WriteString(Names.Id, d.Id);
        _json.WriteString(Names.Name, d.Name);
        _json.WriteString(Names.CustomerId, d.CustomerId);
        _json.WriteStartArray(Names.ContactIds);
        foreach (var contact in d.ContactIds)
        {
            _json.WriteStringValue(contact);
        }

        _json.WriteEndArray();
        _json.WriteNumber(Names.Amount, d.Amount);
        _json.WriteString(Names.Currency, d.Currency);
        _json.WriteString(Names.StageId, d.StageId);
        _json.WriteString(Names.Status, d.Status);
        if (d.ExpectedCloseDate is { } date)
        {
            Span<byte> utf8 = stackalloc byte[10];
            date.TryFormat(utf8, out var written, BundleFormat.DateFormat, CultureInfo.InvariantCulture);
            _json.WriteString(Names.ExpectedCloseDate, utf8[..written]);
        }
        else
        {
            _json.WriteNull(Names.ExpectedCloseDate);
        }

        WriteId(Names.OwnerUserId, d.OwnerUserId);
        WriteTime(Names.ClosedAt, d.ClosedAt);
        WriteValues(d.CustomFields);
        WriteStamps(d.CreatedAt, d.UpdatedAt, d.Version);
        _json.WriteEndObject();
    }

    /// <summary>One activity; its links and assignee as ids or null, the due and completion times as UTC or null.</summary>
    public void WriteActivity(ActivityDetails a)
    {
        _json.WriteStartObject();
        _json.WriteString(Names.Id, a.Id);
        _json.WriteString(Names.Type, a.Type);
        _json.WriteString(Names.Subject, a.Subject);
        _json.WriteString(Names.Body, a.Body);
        WriteTime(Names.DueAt, a.DueAt);
        WriteId(Names.AssigneeUserId, a.AssigneeUserId);
        WriteId(Names.CustomerId, a.CustomerId);
        WriteId(Names.ContactId, a.ContactId);
        WriteId(Names.DealId, a.DealId);
        WriteTime(Names.CompletedAt, a.CompletedAt);
        WriteStamps(a.CreatedAt, a.UpdatedAt, a.Version);
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
        _json.WriteNumber(Names.Seq, e.Seq);
        _json.WriteString(Names.Id, e.Id);
        WriteTime(Names.At, e.At);
        WriteId(Names.ActorId, e.Actor.Id);
        _json.WriteString(Names.ActorEmail, e.Actor.Email);
        _json.WriteString(Names.ActorRole, e.Actor.Role);
        _json.WriteString(Names.Action, e.Action);
        _json.WriteString(Names.TargetType, e.TargetType);
        _json.WriteString(Names.TargetId, e.TargetId);
        _json.WriteString(Names.Outcome, e.Outcome);
        _json.WriteString(Names.Ip, e.Ip);
        _json.WriteString(Names.UserAgent, e.UserAgent);
        _json.WriteString(Names.RequestId, e.RequestId);
        _json.WriteString(Names.Details, e.Details);
        _json.WriteString(Names.PrevHash, BundleFormat.Hex(e.PrevHash));
        _json.WriteString(Names.Hash, BundleFormat.Hex(e.Hash));
        _json.WriteEndObject();
    }

    public async ValueTask MaybeFlushAsync(CancellationToken cancellationToken)
    {
        if (_json.BytesPending >= FlushThreshold)
        {
            await _json.FlushAsync(cancellationToken);
        }
    }

    /// <summary>Writes the counts, then the checksum of everything before it and the signature of that, and closes the document.</summary>
    public async Task<BundleResult> FinishAsync(BundleCounts counts, long auditSeq, byte[] auditHash, CancellationToken cancellationToken)
    {
        _json.WriteStartObject("counts");
        _json.WriteNumber("users", counts.Users);
        WriteCount(RecordSections.Customers, counts.Customers, counts.DeletedCustomers);
        WriteCount(RecordSections.Contacts, counts.Contacts, counts.DeletedContacts);
        WriteCount(RecordSections.Deals, counts.Deals, counts.DeletedDeals);
        WriteCount(RecordSections.Activities, counts.Activities, counts.DeletedActivities);
        _json.WriteNumber("overrides", counts.Overrides);
        _json.WriteNumber("auditLogs", counts.AuditLogs);
        _json.WriteEndObject();
        await _json.FlushAsync(cancellationToken);
        var checksum = BundleFormat.Hex(_output.FinishPrefix());
        _json.WriteStartObject("checksum");
        _json.WriteString("algorithm", "sha256");
        _json.WriteString("value", checksum);
        _json.WriteEndObject();
        var signature = _signer?.Sign(checksum);
        if (signature is not null)
        {
            _json.WriteStartObject("signature");
            _json.WriteString("algorithm", BundleSignature.Algorithm);
            _json.WriteString("keyId", signature.KeyId);
            _json.WriteString("value", signature.Value);
            _json.WriteEndObject();
        }

        _json.WriteEndObject();
        await _json.FlushAsync(cancellationToken);
        await _output.FlushAsync(cancellationToken);
        return new BundleResult(_format, checksum, BundleFormat.Hex(_output.FinishWhole()), _output.Written, counts, auditSeq, auditHash, signature?.KeyId);
    }

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync();
        await _output.DisposeAsync();
    }

    /// <summary>A section's count and, in an increment, its removals' count (the keys <see cref="BundleReader.ReadCounts"/> expects).</summary>
    private void WriteCount(RecordSection section, long rows, long deleted)
    {
        _json.WriteNumber(section.Key, rows);
        if (_format == BundleFormat.Increment)
        {
            _json.WriteNumber(section.DeletedKey, deleted);
        }
    }

    private void WriteTags(IReadOnlyList<string> tags)
    {
        _json.WriteStartArray(Names.Tags);
        foreach (var tag in tags)
        {
            _json.WriteStringValue(tag);
        }

        _json.WriteEndArray();
    }

    /// <summary>
    /// A record's custom-field values, the canonical JSON object text its grain reads (<see cref="CustomFieldRules"/>),
    /// as it is: keys in ordinal order, <c>{}</c> for none.
    /// </summary>
    private void WriteValues(string values)
    {
        _json.WritePropertyName(Names.CustomFields);
        _json.WriteRawValue(values);
    }

    /// <summary>The fields every record ends with: its creation, its last change and its version (the ETag).</summary>
    private void WriteStamps(DateTimeOffset createdAt, DateTimeOffset updatedAt, int version)
    {
        WriteTime(Names.CreatedAt, createdAt);
        WriteTime(Names.UpdatedAt, updatedAt);
        _json.WriteNumber(Names.Version, version);
    }

    private void WriteId(JsonEncodedText name, Guid? id)
    {
        if (id is { } value)
        {
            _json.WriteString(name, value);
        }
        else
        {
            _json.WriteNull(name);
        }
    }

    private void WriteTime(JsonEncodedText name, DateTimeOffset at)
    {
        Span<byte> utf8 = stackalloc byte[32];
        at.UtcDateTime.TryFormat(utf8, out var written, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        _json.WriteString(name, utf8[..written]);
    }

    private void WriteTime(JsonEncodedText name, DateTimeOffset? at)
    {
        if (at is { } value)
        {
            WriteTime(name, value);
        }
        else
        {
            _json.WriteNull(name);
        }
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
