using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Shohayota.Grains.Interfaces.Audit;

namespace Shohayota.Grains.Audit;

/// <summary>
/// The hash chain: <c>hash = SHA-256(canonical(entry) ‖ prev_hash)</c>. The canonical form is compact JSON with the
/// fields in a fixed order, timestamps as UTC ISO-8601 with microseconds, and <c>details</c> embedded as its exact
/// stored text — documented so anyone holding an export can recompute it.
/// </summary>
public static class AuditChain
{
    public static readonly byte[] Genesis = new byte[32];

    public static byte[] Canonical(AuditEntry e)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("tenantId", e.TenantId.ToString("D"));
            json.WriteNumber("seq", e.Seq);
            json.WriteString("id", e.Id.ToString("D"));
            json.WriteString("at", FormatTime(e.At));
            json.WriteString("actorId", e.Actor.Id?.ToString("D"));
            json.WriteString("actorEmail", e.Actor.Email);
            json.WriteString("actorRole", e.Actor.Role);
            json.WriteString("action", e.Action);
            json.WriteString("targetType", e.TargetType);
            json.WriteString("targetId", e.TargetId);
            json.WriteString("outcome", e.Outcome);
            json.WriteString("ip", e.Ip);
            json.WriteString("userAgent", e.UserAgent);
            json.WriteString("requestId", e.RequestId);
            json.WriteString("details", e.Details);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public static byte[] Hash(AuditEntry entry, byte[] previous)
    {
        var canonical = Canonical(entry);
        var input = new byte[canonical.Length + previous.Length];
        canonical.CopyTo(input, 0);
        previous.CopyTo(input, canonical.Length);
        return SHA256.HashData(input);
    }

    public static string FormatTime(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Hex(byte[] hash) => Convert.ToHexString(hash).ToLowerInvariant();

    /// <summary>Details as compact JSON text, or null; secrets never go in.</summary>
    public static string? Details(object? details) => details is null ? null : JsonSerializer.Serialize(details, DetailsJson);

    private static readonly JsonSerializerOptions DetailsJson = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// <paramref name="details"/> with <c>"support":{"session","by"}</c> added: an entry written in a support session names
    /// the super-admin behind the user it acted as (the actor). Details that are not a JSON object are kept under "details".
    /// </summary>
    public static string WithSupport(string? details, Guid session, string? by)
    {
        var node = details is null ? new System.Text.Json.Nodes.JsonObject()
            : System.Text.Json.Nodes.JsonNode.Parse(details) is System.Text.Json.Nodes.JsonObject parsed ? parsed
            : new System.Text.Json.Nodes.JsonObject { ["details"] = System.Text.Json.Nodes.JsonNode.Parse(details) };
        node["support"] = new System.Text.Json.Nodes.JsonObject { ["session"] = session.ToString("D"), ["by"] = by };
        return node.ToJsonString(DetailsJson);
    }

    /// <summary>
    /// The fields that differ between two snapshots, as <c>{"field":{"before":…,"after":…}}</c>; a field only one side
    /// has (a custom field's value set or cleared) counts as null on the other.
    /// </summary>
    public static Dictionary<string, object?> Changes(IReadOnlyDictionary<string, object?> before, IReadOnlyDictionary<string, object?> after)
    {
        var changes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (field, value) in after)
        {
            before.TryGetValue(field, out var old);
            if (!Equal(old, value))
            {
                changes[field] = new Dictionary<string, object?> { ["before"] = old, ["after"] = value };
            }
        }

        foreach (var (field, old) in before)
        {
            if (!after.ContainsKey(field) && old is not null)
            {
                changes[field] = new Dictionary<string, object?> { ["before"] = old, ["after"] = null };
            }
        }

        return changes;
    }

    private static bool Equal(object? a, object? b) => a switch
    {
        null => b is null,
        IEnumerable<string> list when b is IEnumerable<string> other => list.SequenceEqual(other),
        _ => a.Equals(b),
    };
}
