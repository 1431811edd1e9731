using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.CustomFields;

namespace Shohayota.Api.CustomFields;

/// <summary>
/// The tenant's custom fields of customers, contacts and deals: any user of the tenant reads the definitions, its admins
/// replace them (the grain checks the role again). Also what the record routes share about values: the definitions of
/// a type, a body's <c>customFields</c> checked against them, the values as a response's JSON object, the
/// <c>cf.{key}=value</c> list filters and the CSV columns.
/// </summary>
public static class CustomFieldsApi
{
    /// <summary>The prefix of a custom field's list parameter, CSV column and import column: <c>cf.{key}</c>.</summary>
    public const string Prefix = "cf.";

    private static readonly JsonElement EmptyValues = JsonDocument.Parse(CustomFieldRules.Empty).RootElement.Clone();

    public static IEndpointRouteBuilder MapCustomFieldsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/api/custom-fields").WithTags("Custom fields").RequireAdmission(AuthExtensions.TenantUserPolicy)
            .MapGet("/{recordType}", GetAsync)
            .WithDescription("The custom fields of `customers`, `contacts` or `deals`, in their order: key, label, type, options and whether " +
                "required. Any user of the tenant or an API key; another record type is 404.");
        routes.MapGroup("/api/custom-fields").WithTags("Custom fields").RequireAdmission(AuthExtensions.TenantAdminPolicy)
            .MapPut("/{recordType}", ReplaceAsync).WithMetadata(new ProblemResponses(409))
            .WithDescription("Replaces a record type's whole list of custom fields (`{\"fields\": [...]}`, at most 30; a field's `key` is its " +
                "identity, so a kept key keeps its values) and answers the stored list; every broken rule is listed in one 400. Removing a " +
                "field, changing its type or removing a select option that records still hold is 409 with their count; audited as " +
                "`custom_fields.updated`. Tenant admins (or an admin API key) only.");
        return routes;
    }

    public sealed record FieldBody(string? Key, string? Label, string? Type, List<string?>? Options, bool? Required);

    public sealed record FieldsBody(List<FieldBody?>? Fields);

    public sealed record FieldResponse(string Key, string Label, string Type, IReadOnlyList<string> Options, bool Required);

    public sealed record FieldsResponse(string RecordType, IReadOnlyList<FieldResponse> Fields);

    public static FieldsResponse ToResponse(string recordType, IReadOnlyList<CustomFieldDefinition> definitions) =>
        new(recordType, [.. definitions.Select(d => new FieldResponse(d.Key, d.Label, d.Type, d.Options, d.Required))]);

    private static ProblemHttpResult UnknownType() =>
        Problems.From(Failure.NotFound, $"No such record type; custom fields are defined for {string.Join(", ", CustomFieldRecordTypes.All)}.");

    private static async Task<Results<Ok<FieldsResponse>, ProblemHttpResult>> GetAsync(string recordType, HttpContext http, IGrainFactory grains) =>
        CustomFieldRecordTypes.All.Contains(recordType)
            ? TypedResults.Ok(ToResponse(recordType, await DefinitionsAsync(grains, http, recordType)))
            : UnknownType();

    private static async Task<Results<Ok<FieldsResponse>, FieldProblem, ProblemHttpResult>> ReplaceAsync(string recordType, FieldsBody body, HttpContext http, IGrainFactory grains)
    {
        if (!CustomFieldRecordTypes.All.Contains(recordType))
        {
            return UnknownType();
        }

        var definitions = body.Fields?.Select(f => f is null ? null
            : new CustomFieldDefinition(f.Key ?? "", f.Label ?? "", f.Type ?? "", [.. (f.Options ?? []).Select(o => o ?? "")], f.Required ?? false)).ToList();
        if (CustomFieldRules.CheckDefinitions(definitions) is { Count: > 0 } invalid)
        {
            return Problems.Validation(invalid.ToDictionary(e => e.Key, e => new[] { e.Value }));
        }

        var outcome = await Grain(grains, http).ReplaceAsync(recordType, definitions!.Select(d => d!).ToList());
        return outcome.Succeeded ? TypedResults.Ok(ToResponse(recordType, outcome.Value!)) : Problems.From(outcome);
    }

    private static ICustomFieldsGrain Grain(IGrainFactory grains, HttpContext http) =>
        GrainReferences.Get<ICustomFieldsGrain>(grains, http.RequestServices, GrainKeys.CustomFields(http.User.ToCaller().TenantId));

    /// <summary>The caller's tenant's definitions of <paramref name="recordType"/>, in their order.</summary>
    public static Task<IReadOnlyList<CustomFieldDefinition>> DefinitionsAsync(IGrainFactory grains, HttpContext http, string recordType) =>
        Grain(grains, http).GetAsync(recordType);

    /// <summary>Canonical values as the JSON object a response carries.</summary>
    public static JsonElement Values(string canonical)
    {
        if (canonical == CustomFieldRules.Empty)
        {
            return EmptyValues;
        }

        using var document = JsonDocument.Parse(canonical);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// The list's <c>cf.{key}=value</c> parameters as one JSON object for <c>custom_fields @&gt;</c>, or null without any;
    /// an unknown key or a value that is not one of the field's type is an error naming its parameter.
    /// </summary>
    public static async Task<string?> FilterAsync(IQueryCollection query, IGrainFactory grains, HttpContext http, string recordType, FieldErrors errors)
    {
        var given = query.Where(p => p.Key.StartsWith(Prefix, StringComparison.Ordinal)).ToList();
        if (given.Count == 0)
        {
            return null;
        }

        var definitions = (await DefinitionsAsync(grains, http, recordType)).ToDictionary(d => d.Key, StringComparer.Ordinal);
        var filter = new JsonObject();
        foreach (var (name, value) in given)
        {
            var key = name[Prefix.Length..];
            if (!definitions.TryGetValue(key, out var definition))
            {
                errors.Check(name, $"\"{key}\" is not a custom field of {recordType}; the custom fields are: "
                    + (definitions.Count == 0 ? "none." : string.Join(", ", definitions.Keys) + "."));
                continue;
            }

            var (parsed, error) = CustomFieldRules.FromText(definition, value.ToString());
            errors.Check(name, error);
            if (parsed is { } json)
            {
                filter[key] = JsonNode.Parse(json.GetRawText());
            }
        }

        return filter.Count == 0 ? null : filter.ToJsonString();
    }

    /// <summary>Whether <paramref name="name"/> is a custom field parameter (lists accept any <c>cf.{key}</c>, checked by <see cref="FilterAsync"/>).</summary>
    public static bool IsParameter(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The CSV columns after a list's standard ones: <c>cf.{key}</c> per definition, in order.</summary>
    public static string[] CsvHeader(IReadOnlyList<string> standard, IReadOnlyList<CustomFieldDefinition> definitions) =>
        [.. standard, .. definitions.Select(d => Prefix + d.Key)];

    /// <summary>One record's custom field cells, per definition in order: the value's text, empty without one.</summary>
    public static void WriteCsvCells(CsvHelper.CsvWriter csv, IReadOnlyList<CustomFieldDefinition> definitions, string values)
    {
        if (definitions.Count == 0)
        {
            return;
        }

        var texts = CustomFieldRules.Entries(values).ToDictionary(e => e.Key, e => e.Text, StringComparer.Ordinal);
        foreach (var definition in definitions)
        {
            csv.WriteField(texts.TryGetValue(definition.Key, out var text) ? text : null);
        }
    }

    /// <summary>An export's audited filters with the list's <c>cf.{key}</c> parameters added.</summary>
    public static Dictionary<string, string?> WithFilters(this Dictionary<string, string?> filters, IQueryCollection query)
    {
        foreach (var (name, value) in query.Where(p => IsParameter(p.Key)))
        {
            filters[name] = value.ToString();
        }

        return filters;
    }

    /// <summary>A list's CSV row writer with the custom field cells after the standard ones.</summary>
    public static Action<CsvHelper.CsvWriter, T> WithCells<T>(Action<CsvHelper.CsvWriter, T> write, IReadOnlyList<CustomFieldDefinition> definitions, Func<T, string> values) =>
        (csv, record) =>
        {
            write(csv, record);
            WriteCsvCells(csv, definitions, values(record));
        };
}
