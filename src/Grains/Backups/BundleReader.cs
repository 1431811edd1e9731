using System.Buffers;
using System.Text;
using System.Text.Json;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Activities;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Grains.Backups;

/// <summary>Tokens of a JSON document read from a stream through a small buffer (a bundle can be hundreds of MB).</summary>
internal sealed class JsonTokenStream(Stream stream)
{
    private const int MaxBuffer = 64 * 1024 * 1024;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private long _offset;
    private bool _final;
    private JsonReaderState _state = new(new JsonReaderOptions { MaxDepth = 8 });

    public JsonTokenType Token { get; private set; }

    /// <summary>The unescaped text of a property name or string.</summary>
    public string? Text { get; private set; }

    public long? Integer { get; private set; }

    /// <summary>A number that is not a whole <see cref="long"/>, exactly as written (decimal keeps its scale: 1234.50 stays 1234.50).</summary>
    public decimal? Fraction { get; private set; }

    /// <summary>Byte offset of the next token, for error messages.</summary>
    public long Position => _offset + _start;

    public bool Read()
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _final, _state);
            try
            {
                if (reader.Read())
                {
                    Token = reader.TokenType;
                    Text = Token is JsonTokenType.PropertyName or JsonTokenType.String ? reader.GetString() : null;
                    Integer = Token == JsonTokenType.Number && reader.TryGetInt64(out var number) ? number : null;
                    Fraction = Token == JsonTokenType.Number && Integer is null && reader.TryGetDecimal(out var fraction) ? fraction : null;
                    _start += (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    return true;
                }
            }
            catch (JsonException)
            {
                throw new BundleException($"The bundle is not valid JSON, or is truncated, near byte {Position}.");
            }
            catch (InvalidOperationException)
            {
                throw new BundleException($"The bundle has text that is not valid UTF-8 near byte {Position}.");
            }

            if (_final)
            {
                return false;
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _offset += _start;
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxBuffer)
            {
                throw new BundleException($"The bundle has a value longer than {MaxBuffer / 1024 / 1024} MiB near byte {Position}.");
            }

            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var read = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _final = true;
        }
        else
        {
            _end += read;
        }
    }
}

/// <summary>
/// Reads a bundle front to back, section by section, with the keys in the order <see cref="BundleWriter"/> writes them.
/// Sections that can be long are enumerables: enumerate each completely before reading the next section. A section
/// newer than the bundle's version is read as empty (a version-1 bundle has no contacts, a version-2 one no deals, a
/// version-3 one no activities and no custom fields).
/// </summary>
internal sealed class BundleReader(Stream stream)
{
    private readonly JsonTokenStream _json = new(stream);
    private string _where = "the bundle";
    private string _field = "";

    public string Format { get; private set; } = "";

    public long Version { get; private set; }

    public bool Secrets { get; private set; }

    public DateTimeOffset ExportedAt { get; private set; }

    public BundleBase? Since { get; private set; }

    public void ReadHeader()
    {
        _where = "the bundle";
        Next();
        if (_json.Token != JsonTokenType.StartObject)
        {
            throw new BundleException("The bundle is not a JSON object: send a Shohayota tenant export.");
        }

        Property("format");
        Format = String();
        if (Format is not (BundleFormat.Export or BundleFormat.Increment))
        {
            throw new BundleException($"format: \"{Format}\" is not a Shohayota tenant export (\"{BundleFormat.Export}\").");
        }

        Property("version");
        Version = Long();
        if (Version is < BundleFormat.OldestReadable or > BundleFormat.Version)
        {
            throw new BundleException(
                $"version: {Version} is not supported; this server reads versions {BundleFormat.OldestReadable} to {BundleFormat.Version}.");
        }

        Property("exportedAt");
        ExportedAt = Time();
        Property("secrets");
        Secrets = Bool();
        if (Format == BundleFormat.Increment)
        {
            Property("since");
            _where = "since";
            Start(JsonTokenType.StartObject);
            Property("backupId");
            var backupId = String();
            Property("auditSeq");
            var seq = Long();
            Property("auditHash");
            var hash = Hash();
            End(JsonTokenType.EndObject);
            Since = new BundleBase(backupId, seq, hash);
        }
    }

    public TenantRow ReadTenant()
    {
        Property("tenant");
        _where = "tenant";
        Start(JsonTokenType.StartObject);
        Property("id");
        var id = Guid();
        Property("name");
        var name = String();
        Property("contactEmail");
        var contact = String();
        Property("plan");
        var plan = String();
        Property("status");
        var status = String();
        Property("statusReason");
        var reason = NullableString();
        Property("createdAt");
        var created = Time();
        Property("statusChangedAt");
        var changed = Time();
        Property("retentionUntil");
        var retention = NullableTime();
        Property("updatedAt");
        var updated = Time();
        End(JsonTokenType.EndObject);
        _where = "the bundle";
        Property("plan");
        if (String() != plan)
        {
            throw Error("plan differs from tenant.plan");
        }

        return new TenantRow(id, name, contact, plan, status, reason, created, changed, retention, updated);
    }

    public IEnumerable<OverrideRow> ReadOverrides() => Array("overrides", _ =>
    {
        Property("quota");
        var quota = String();
        Property("value");
        var value = Long();
        Property("expiresAt");
        var expires = NullableTime();
        Property("reason");
        var reason = NullableString();
        Property("createdAt");
        var created = Time();
        End(JsonTokenType.EndObject);
        return new OverrideRow(quota, value, expires, reason, created);
    });

    public IEnumerable<UserRow> ReadUsers() => Array("users", _ =>
    {
        Property("id");
        var id = Guid();
        Property("email");
        var email = String();
        Property("name");
        var name = String();
        Property("role");
        var role = String();
        Property("disabled");
        var disabled = Bool();
        Property("failedLogins");
        var failed = Long();
        Property("lockedUntil");
        var locked = NullableTime();
        Property("createdAt");
        var created = Time();
        Property("updatedAt");
        var updated = Time();
        string? hash = null;
        if (Secrets)
        {
            Property("passwordHash");
            hash = String();
        }

        End(JsonTokenType.EndObject);
        return new UserRow(id, email, name, role, disabled, checked((int)failed), locked, created, updated, hash);
    });

    /// <summary>
    /// The custom-field definitions per record type (<see cref="BundleWriter.WriteCustomFields"/>), every type of
    /// <see cref="CustomFieldRecordTypes.All"/> present, in the fields' order; none of any type before version 4. The lists
    /// are as written: the restorer checks them with <see cref="CustomFieldRules.CheckDefinitions"/>.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<CustomFieldDefinition>> ReadCustomFields()
    {
        var lists = CustomFieldRecordTypes.All.ToDictionary(t => t, _ => (IReadOnlyList<CustomFieldDefinition>)[], StringComparer.Ordinal);
        if (Version < BundleFormat.CustomFieldsVersion)
        {
            return lists;
        }

        Property("customFields");
        _where = "customFields";
        Start(JsonTokenType.StartObject);
        foreach (var recordType in CustomFieldRecordTypes.All)
        {
            lists[recordType] = Array(recordType, _ =>
            {
                Property("key");
                var key = String();
                Property("label");
                var label = String();
                Property("type");
                var type = String();
                Property("options");
                var options = Tags();
                Property("required");
                var required = Bool();
                End(JsonTokenType.EndObject);
                return new CustomFieldDefinition(key, label, type, options, required);
            }, "customFields").ToList();
        }

        _where = "customFields";
        End(JsonTokenType.EndObject);
        _where = "the bundle";
        return lists;
    }

    /// <summary>A record section's rows, in bundle order; none when the bundle's version predates the section.</summary>
    public IEnumerable<T> ReadRecords<T>(RecordSection<T> section)
        where T : class, IRecordDetails =>
        Version < section.FirstVersion ? [] : Array(section.Key, _ =>
        {
            var row = section.Read(this);
            End(JsonTokenType.EndObject);
            return row;
        });

    /// <summary>An increment's removed ids of a record section (after its rows); none in a full export or a bundle older than the section.</summary>
    public IEnumerable<Guid> ReadDeleted(RecordSection section) =>
        Format != BundleFormat.Increment || Version < section.FirstVersion ? [] : Ids(section.DeletedKey);

    /// <summary>One customer's fields, in the order <see cref="BundleWriter.WriteCustomer"/> writes them.</summary>
    public CustomerDetails ReadCustomer()
    {
        Property("id");
        var id = Guid();
        Property("name");
        var name = String();
        Property("email");
        var email = NullableString();
        Property("phone");
        var phone = NullableString();
        Property("company");
        var company = NullableString();
        Property("status");
        var status = String();
        Property("tags");
        var tags = Tags();
        Property("notes");
        var notes = NullableString();
        Property("ownerUserId");
        var owner = NullableGuid();
        var values = CustomFieldValues();
        var (created, updated, version) = Stamps();
        return new CustomerDetails(id, name, email, phone, company, status, tags, notes, owner, created, updated, version, values);
    }

    /// <summary>One contact's fields, in the order <see cref="BundleWriter.WriteContact"/> writes them.</summary>
    public ContactDetails ReadContact()
    {
        Property("id");
        var id = Guid();
        Property("firstName");
        var first = NullableString();
        Property("lastName");
        var last = NullableString();
        Property("email");
        var email = NullableString();
        Property("phone");
        var phone = NullableString();
        Property("title");
        var title = NullableString();
        Property("customerId");
        var customer = NullableGuid();
        Property("ownerUserId");
        var owner = NullableGuid();
        Property("tags");
        var tags = Tags();
        Property("notes");
        var notes = NullableString();
        var values = CustomFieldValues();
        var (created, updated, version) = Stamps();
        return new ContactDetails(id, first, last, email, phone, title, customer, owner, tags, notes, created, updated, version, values);
    }

    /// <summary>
    /// The tenant's whole stage list, in order (every bundle of version 3 or later, full or increment, carries it before
    /// the deals); null for an older bundle, which has no pipeline.
    /// </summary>
    public IReadOnlyList<PipelineStage>? ReadPipeline() => Version < RecordSections.Deals.FirstVersion ? null : Array("pipeline", _ =>
    {
        Property("id");
        var id = Guid();
        Property("name");
        var name = String();
        Property("kind");
        var kind = String();
        Property("probability");
        var probability = Long();
        End(JsonTokenType.EndObject);
        return new PipelineStage(id, name, kind, probability is >= int.MinValue and <= int.MaxValue ? (int)probability : throw Error("probability is out of range"));
    }).ToList();

    /// <summary>One deal's fields, in the order <see cref="BundleWriter.WriteDeal"/> writes them.</summary>
    public DealDetails ReadDeal()
    {
        Property("id");
        var id = Guid();
        Property("name");
        var name = String();
        Property("customerId");
        var customer = Guid();
        Property("contactIds");
        var contacts = IdList();
        Property("amount");
        var amount = Decimal();
        Property("currency");
        var currency = String();
        Property("stageId");
        var stage = Guid();
        Property("status");
        var status = String();
        Property("expectedCloseDate");
        var expected = NullableDate();
        Property("ownerUserId");
        var owner = NullableGuid();
        Property("closedAt");
        var closed = NullableTime();
        var values = CustomFieldValues();
        var (created, updated, version) = Stamps();
        return new DealDetails(id, name, customer, contacts, amount, currency, stage, status, expected, owner, closed, created, updated, version, values);
    }

    /// <summary>One activity's fields, in the order <see cref="BundleWriter.WriteActivity"/> writes them.</summary>
    public ActivityDetails ReadActivity()
    {
        Property("id");
        var id = Guid();
        Property("type");
        var type = String();
        Property("subject");
        var subject = String();
        Property("body");
        var body = NullableString();
        Property("dueAt");
        var due = NullableTime();
        Property("assigneeUserId");
        var assignee = NullableGuid();
        Property("customerId");
        var customer = NullableGuid();
        Property("contactId");
        var contact = NullableGuid();
        Property("dealId");
        var deal = NullableGuid();
        Property("completedAt");
        var completed = NullableTime();
        var (created, updated, version) = Stamps();
        return new ActivityDetails(id, type, subject, body, due, assignee, customer, contact, deal, completed, created, updated, version);
    }

    public AuditCheckpoint? ReadCheckpoint()
    {
        Property("auditCheckpoint");
        _where = "auditCheckpoint";
        Next();
        if (_json.Token == JsonTokenType.Null)
        {
            _where = "the bundle";
            return null;
        }

        if (_json.Token != JsonTokenType.StartObject)
        {
            throw Error("expected null or an object");
        }

        Property("seq");
        var seq = Long();
        Property("hash");
        var hash = Hash();
        End(JsonTokenType.EndObject);
        _where = "the bundle";
        return new AuditCheckpoint(seq, hash);
    }

    public IEnumerable<AuditEntry> ReadAuditLogs(Guid tenantId) => Array("auditLogs", _ =>
    {
        Property("seq");
        var seq = Long();
        Property("id");
        var id = Guid();
        Property("at");
        var at = Time();
        Property("actorId");
        var actorId = NullableGuid();
        Property("actorEmail");
        var actorEmail = NullableString();
        Property("actorRole");
        var actorRole = NullableString();
        Property("action");
        var action = String();
        Property("targetType");
        var targetType = NullableString();
        Property("targetId");
        var targetId = NullableString();
        Property("outcome");
        var outcome = String();
        Property("ip");
        var ip = NullableString();
        Property("userAgent");
        var userAgent = NullableString();
        Property("requestId");
        var requestId = NullableString();
        Property("details");
        var details = NullableString();
        Property("prevHash");
        var prev = Hash();
        Property("hash");
        var hash = Hash();
        End(JsonTokenType.EndObject);
        return new AuditEntry(id, tenantId, seq, at, new AuditActor(actorId, actorEmail, actorRole), action, targetType, targetId, outcome, ip,
            userAgent, requestId, details, prev, hash);
    });

    public BundleCounts ReadCounts()
    {
        Property("counts");
        _where = "counts";
        Start(JsonTokenType.StartObject);
        Property("users");
        var users = Long();
        var (customers, deletedCustomers) = Count(RecordSections.Customers);
        var (contacts, deletedContacts) = Count(RecordSections.Contacts);
        var (deals, deletedDeals) = Count(RecordSections.Deals);
        var (activities, deletedActivities) = Count(RecordSections.Activities);
        Property("overrides");
        var overrides = Long();
        Property("auditLogs");
        var audit = Long();
        End(JsonTokenType.EndObject);
        _where = "the bundle";
        return new BundleCounts(users, customers, deletedCustomers, contacts, deletedContacts, deals, deletedDeals, activities, deletedActivities, overrides, audit);
    }

    /// <summary>Reads the checksum object and the signature if there is one, and makes sure nothing follows the document.</summary>
    public BundleSeal ReadChecksum()
    {
        Property("checksum");
        _where = "checksum";
        Start(JsonTokenType.StartObject);
        Property("algorithm");
        if (String() != "sha256")
        {
            throw Error("only sha256 is supported");
        }

        Property("value");
        var value = String();
        End(JsonTokenType.EndObject);
        BundleSignature? signature = null;
        Next();
        if (_json.Token == JsonTokenType.PropertyName && _json.Text == "signature")
        {
            _where = "signature";
            Start(JsonTokenType.StartObject);
            Property("algorithm");
            if (String() != BundleSignature.Algorithm)
            {
                throw Error($"only {BundleSignature.Algorithm} is supported");
            }

            Property("keyId");
            var keyId = String();
            Property("value");
            signature = new BundleSignature(keyId, String());
            End(JsonTokenType.EndObject);
            Next();
        }

        if (_json.Token != JsonTokenType.EndObject)
        {
            throw Error(_json.Token == JsonTokenType.PropertyName ? $"unexpected field \"{_json.Text}\"" : "unexpected value");
        }

        if (_json.Read())
        {
            throw new BundleException("The bundle has data after its end.");
        }

        return new BundleSeal(value, signature);
    }

    /// <summary>A section's count and, in an increment, its removals' count; zeros when the bundle predates the section.</summary>
    private (long Rows, long Deleted) Count(RecordSection section)
    {
        if (Version < section.FirstVersion)
        {
            return (0, 0);
        }

        Property(section.Key);
        var rows = Long();
        if (Format != BundleFormat.Increment)
        {
            return (rows, 0);
        }

        Property(section.DeletedKey);
        return (rows, Long());
    }

    private IEnumerable<Guid> Ids(string name)
    {
        Property(name);
        _where = name;
        Start(JsonTokenType.StartArray);
        for (var i = 0; ; i++)
        {
            _where = $"{name}[{i}]";
            Next();
            if (_json.Token == JsonTokenType.EndArray)
            {
                _where = "the bundle";
                yield break;
            }

            yield return _json.Token == JsonTokenType.String ? ParseGuid(_json.Text!) : throw Error("expected an id");
        }
    }

    private List<Guid> IdList() => StringList(ParseGuid, "ids");

    private List<string> Tags() => StringList(text => text, "strings");

    /// <summary>An array of strings, each made a <typeparamref name="T"/> by <paramref name="parse"/>.</summary>
    private List<T> StringList<T>(Func<string, T> parse, string what)
    {
        Start(JsonTokenType.StartArray);
        var items = new List<T>();
        while (true)
        {
            Next();
            if (_json.Token == JsonTokenType.EndArray)
            {
                return items;
            }

            items.Add(_json.Token == JsonTokenType.String ? parse(_json.Text!) : throw Error($"{_field} must be {what}"));
        }
    }

    /// <summary>
    /// A record's <c>customFields</c> object (version 4 on; <c>{}</c> before) as canonical text: each value a string, a
    /// number or a boolean, each key once. Whether the values fit the bundle's definitions is the restorer's check.
    /// </summary>
    private string CustomFieldValues()
    {
        if (Version < BundleFormat.CustomFieldsVersion)
        {
            return CustomFieldRules.Empty;
        }

        Property("customFields");
        Start(JsonTokenType.StartObject);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        using (var values = new Utf8JsonWriter(buffer))
        {
            values.WriteStartObject();
            while (true)
            {
                Next();
                if (_json.Token == JsonTokenType.EndObject)
                {
                    break;
                }

                var key = _json.Text!;
                if (!keys.Add(key))
                {
                    throw Error($"customFields.{key} is given twice");
                }

                Next();
                switch (_json.Token)
                {
                    case JsonTokenType.String:
                        values.WriteString(key, _json.Text);
                        break;
                    case JsonTokenType.Number when _json.Integer is { } whole:
                        values.WriteNumber(key, whole);
                        break;
                    case JsonTokenType.Number when _json.Fraction is { } fraction:
                        values.WriteNumber(key, fraction);
                        break;
                    case JsonTokenType.Number:
                        throw Error($"customFields.{key} is a number out of range");
                    case JsonTokenType.True or JsonTokenType.False:
                        values.WriteBoolean(key, _json.Token == JsonTokenType.True);
                        break;
                    default:
                        throw Error($"customFields.{key} must be a string, a number, true or false");
                }
            }

            values.WriteEndObject();
        }

        return keys.Count == 0 ? CustomFieldRules.Empty : CustomFieldRules.Canonical(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>The fields every record ends with (<see cref="BundleWriter"/>'s stamps): created, updated, version.</summary>
    private (DateTimeOffset Created, DateTimeOffset Updated, int Version) Stamps()
    {
        Property("createdAt");
        var created = Time();
        Property("updatedAt");
        var updated = Time();
        Property("version");
        var version = Long();
        return (created, updated, version is >= int.MinValue and <= int.MaxValue ? (int)version : throw Error("version is out of range"));
    }

    /// <param name="within">The object the array is in (named in errors as <c>within.name[i]</c>), or null for the bundle.</param>
    private IEnumerable<T> Array<T>(string name, Func<int, T> item, string? within = null)
    {
        Property(name);
        var path = within is null ? name : $"{within}.{name}";
        _where = path;
        Start(JsonTokenType.StartArray);
        for (var i = 0; ; i++)
        {
            _where = $"{path}[{i}]";
            Next();
            if (_json.Token == JsonTokenType.EndArray)
            {
                _where = "the bundle";
                yield break;
            }

            if (_json.Token != JsonTokenType.StartObject)
            {
                throw Error("expected an object");
            }

            yield return item(i);
        }
    }

    private void Next()
    {
        if (!_json.Read())
        {
            throw new BundleException($"The bundle ends early, in {_where}: it is truncated.");
        }
    }

    private void Start(JsonTokenType token)
    {
        Next();
        if (_json.Token != token)
        {
            throw Error(token == JsonTokenType.StartObject ? "expected an object" : "expected an array");
        }
    }

    private void End(JsonTokenType token)
    {
        Next();
        if (_json.Token != token)
        {
            throw Error(_json.Token == JsonTokenType.PropertyName ? $"unexpected field \"{_json.Text}\"" : "unexpected value");
        }
    }

    private void Property(string name)
    {
        Next();
        if (_json.Token != JsonTokenType.PropertyName || _json.Text != name)
        {
            throw Error(_json.Token == JsonTokenType.PropertyName ? $"expected \"{name}\", found \"{_json.Text}\"" : $"expected \"{name}\"");
        }

        _field = name;
    }

    private string String()
    {
        Next();
        return _json.Token == JsonTokenType.String ? _json.Text! : throw Error($"{_field} must be a string");
    }

    private string? NullableString()
    {
        Next();
        return _json.Token switch
        {
            JsonTokenType.String => _json.Text,
            JsonTokenType.Null => null,
            _ => throw Error($"{_field} must be a string or null"),
        };
    }

    private long Long()
    {
        Next();
        return _json.Integer ?? throw Error($"{_field} must be a whole number");
    }

    /// <summary>A JSON number as the exact decimal it writes (no float in between).</summary>
    private decimal Decimal()
    {
        Next();
        return _json.Integer ?? _json.Fraction ?? throw Error($"{_field} must be a decimal number");
    }

    private DateOnly? NullableDate() =>
        NullableString() is { } text ? BundleFormat.TryParseDate(text, out var date) ? date : throw Error($"{_field} is not a date like 2025-01-31") : null;

    private bool Bool()
    {
        Next();
        return _json.Token switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw Error($"{_field} must be true or false"),
        };
    }

    private Guid Guid() => ParseGuid(String());

    private Guid? NullableGuid() => NullableString() is { } text ? ParseGuid(text) : null;

    private Guid ParseGuid(string text) =>
        System.Guid.TryParseExact(text, "D", out var id) ? id : throw Error($"{_field} is not an id");

    private DateTimeOffset Time()
    {
        var text = String();
        return BundleFormat.TryParseTime(text, out var at) ? at : throw Error($"{_field} is not a UTC time like 2025-01-31T12:00:00.000000Z");
    }

    private DateTimeOffset? NullableTime() =>
        NullableString() is { } text ? BundleFormat.TryParseTime(text, out var at) ? at : throw Error($"{_field} is not a UTC time") : null;

    private byte[] Hash() =>
        BundleFormat.TryParseHex(String(), 32, out var hash) ? hash : throw Error($"{_field} is not 64 lowercase hex digits");

    private BundleException Error(string problem) => new($"{_where}: {problem} (near byte {_json.Position}).");
}
