using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Shohayota.Api.Errors;

namespace Shohayota.Api.Records;

/// <summary>
/// What every CRM record route shares: the version as ETag and If-Match, list parameters that must be known and given
/// once, the Idempotency-Key rule, opaque keyset cursors. Customers, contacts and the records after them use these.
/// </summary>
public static class RecordHttp
{
    public const string IfMatchRule = "If-Match must be the ETag this API returned (e.g. \"3\").";

    public static string ETag(int version) => $"\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    public static FieldProblem Malformed(string field, string message) => new FieldErrors().Check(field, message).ToProblem();

    /// <summary>The Idempotency-Key header's refusal, or null when it is absent or usable.</summary>
    public static FieldProblem? CheckIdempotencyKey(string? key) =>
        key is { Length: 0 or > 200 } ? Malformed("Idempotency-Key", "The Idempotency-Key header must have 1 to 200 characters.") : null;

    /// <summary>The version If-Match names, or null without one (or with <c>*</c>); false when it is not an ETag this API returned.</summary>
    public static bool TryIfMatch(HttpContext http, out int? version)
    {
        version = null;
        StringValues header = http.Request.Headers.IfMatch;
        if (StringValues.IsNullOrEmpty(header) || header.ToString() == "*")
        {
            return true;
        }

        var text = header.ToString().Trim();
        if (text.StartsWith("W/", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        if (text.Length < 3 || text[0] != '"' || text[^1] != '"' ||
            !int.TryParse(text.AsSpan(1, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return false;
        }

        version = parsed;
        return true;
    }

    /// <summary>Unknown and repeated query parameters, each as a field error: a typo must not silently widen a list.</summary>
    /// <remarks>With <paramref name="customFields"/>, <c>cf.{key}</c> parameters pass too: the custom field filters check them.</remarks>
    public static FieldErrors CheckParameters(IQueryCollection query, IReadOnlySet<string> known, bool customFields = false)
    {
        var errors = new FieldErrors();
        foreach (var unknown in query.Keys.Where(k => !known.Contains(k) && !(customFields && CustomFields.CustomFieldsApi.IsParameter(k))))
        {
            errors.Check(unknown, $"Unknown parameter; use {string.Join(", ", known)}{(customFields ? " or cf.{key} (a custom field)" : "")}.");
        }

        foreach (var repeated in query.Where(p => p.Value.Count > 1))
        {
            errors.Check(repeated.Key, "Give this parameter once.");
        }

        return errors;
    }

    /// <summary>The page size a list asks for (1–200, 50 without one), or an error.</summary>
    public static int PageSize(string? text, FieldErrors errors)
    {
        if (text is null)
        {
            return 50;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size is >= 1 and <= 200)
        {
            return size;
        }

        errors.Check("pageSize", "pageSize must be a whole number from 1 to 200.");
        return 50;
    }

    /// <summary>
    /// A list's <c>sort</c> (one of <paramref name="sorts"/>, else <paramref name="fallback"/>) and <c>cursor</c> (one this API
    /// returned, for that same sort), each problem an error naming its parameter.
    /// </summary>
    public static (TSort Sort, TCursor? Cursor) SortAndCursor<TSort, TCursor>(
        string? sortText, string? cursorText, IReadOnlyDictionary<string, TSort> sorts, TSort fallback, Func<string, TCursor?> decode,
        Func<TCursor, TSort> sortOf, FieldErrors errors)
        where TSort : struct, Enum
        where TCursor : class
    {
        var sort = fallback;
        if (sortText is not null && !sorts.TryGetValue(sortText, out sort))
        {
            sort = fallback;
            errors.Check("sort", $"sort must be one of: {string.Join(", ", sorts.Keys)}.");
        }

        if (cursorText is null)
        {
            return (sort, null);
        }

        var cursor = decode(cursorText);
        errors.Check("cursor", cursor is null ? "The cursor is not one this API returned."
            : !EqualityComparer<TSort>.Default.Equals(sortOf(cursor), sort) ? "The cursor belongs to another sort order; keep the sort of the first page." : null);
        return (sort, cursor);
    }

    /// <summary>An optional id parameter; a malformed one is an error naming it.</summary>
    public static Guid? Id(string name, string? text, FieldErrors errors)
    {
        if (text is null)
        {
            return null;
        }

        if (Guid.TryParse(text, out var id))
        {
            return id;
        }

        errors.Check(name, $"{name} must be an id.");
        return null;
    }

    /// <summary>An opaque cursor: the record's own cursor type, as base64url JSON.</summary>
    public static string EncodeCursor<T>(T cursor) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(cursor));

    /// <summary>The cursor, or null when the text is not one <see cref="EncodeCursor{T}"/> wrote.</summary>
    public static T? DecodeCursor<T>(string text) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(Base64Url.DecodeFromChars(text));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }
}
