using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.CustomFields;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Records;

/// <summary>
/// The item routes every CRM record type has, written once: <c>GET/PUT/DELETE {path}/{id}</c> and <c>POST {path}</c>,
/// with the version as ETag, <c>If-Match</c>, <c>Idempotency-Key</c>, the API's own rules before the grain's, and
/// another tenant's id answering exactly like a missing one. A record type gives its grain, body, rules and response;
/// one that other records depend on (<paramref name="cascades"/>) takes <c>DELETE …?cascade=true</c>.
/// </summary>
public sealed class RecordRoutes<TGrain, TDetails, TFields, TBody, TResponse>(
    string noun,
    string path,
    Func<Guid, Guid, string> key,
    Func<Guid, Guid, string, Guid> idempotentId,
    Func<TBody, Dictionary<string, string>> check,
    Func<TBody, TFields> toFields,
    Func<TDetails, TResponse> toResponse,
    RecordCustomFields<TBody, TFields>? customFields = null,
    bool cascades = false)
    where TGrain : IRecordGrain<TDetails, TFields>
    where TDetails : class, IRecordDetails
{
    /// <summary>Maps POST, GET, PUT and DELETE on <paramref name="group"/>, each with its description for the document.</summary>
    public RouteGroupBuilder Map(RouteGroupBuilder group, RecordDescriptions descriptions, RequestExamples? createExamples = null)
    {
        // Delegates, not lambdas in the Map calls: ASP.NET Core's route-handler analyzer cannot read a lambda whose
        // parameter is a type parameter (it throws), and the request delegate factory binds these the same way.
        Func<TBody, HttpContext, IGrainFactory, Task<Results<Created<TResponse>, FieldProblem, ProblemHttpResult>>> create = CreateAsync;
        Func<Guid, HttpContext, IGrainFactory, Task<Results<Ok<TResponse>, ProblemHttpResult>>> get = GetAsync;
        Func<Guid, TBody, HttpContext, IGrainFactory, Task<Results<Ok<TResponse>, FieldProblem, ProblemHttpResult>>> update = UpdateAsync;
        Func<Guid, HttpContext, IGrainFactory, Task<Results<NoContent, FieldProblem, ProblemHttpResult>>> remove = RemoveAsync;
        // 409: a duplicate or a missing linked record; 412: If-Match is not the version; 422: an Idempotency-Key reused.
        var post = group.MapPost("/", create).WithMetadata(new ProblemResponses(409, 422))
            .WithDescription(descriptions.Create);
        if (createExamples is not null)
        {
            post.WithMetadata(createExamples);
        }

        group.MapGet("/{id:guid}", get)
            .WithDescription(descriptions.Get);
        group.MapPut("/{id:guid}", update).WithMetadata(new ProblemResponses(409, 412))
            .WithDescription(descriptions.Update);
        group.MapDelete("/{id:guid}", remove)
            .WithMetadata(new ProblemResponses(409, 412), new QueryParameters(cascades ? CascadeParameter : []))
            .WithDescription(descriptions.Delete);

        return group;
    }

    public TGrain Grain(IGrainFactory grains, HttpContext http, Guid id) =>
        GrainReferences.Get<TGrain>(grains, http.RequestServices, key(http.User.ToCaller().TenantId, id));

    // The same body for a foreign id as for a missing one: nothing tells another tenant's record exists.
    public ProblemHttpResult NotFound() => Problems.From(Failure.NotFound, $"No such {noun}.");

    private async Task<Results<Ok<TResponse>, ProblemHttpResult>> GetAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        if (await Grain(grains, http, id).GetAsync() is not { } record)
        {
            return NotFound();
        }

        http.Response.Headers.ETag = RecordHttp.ETag(record.Version);
        return TypedResults.Ok(toResponse(record));
    }

    private async Task<Results<Created<TResponse>, FieldProblem, ProblemHttpResult>> CreateAsync(TBody body, HttpContext http, IGrainFactory grains)
    {
        var idempotencyKey = http.Request.Headers.TryGetValue("Idempotency-Key", out var header) ? header.ToString() : null;
        if (RecordHttp.CheckIdempotencyKey(idempotencyKey) is { } badKey)
        {
            return badKey;
        }

        var (invalid, fields) = await FieldsAsync(body, http, grains);
        if (invalid is not null)
        {
            return invalid;
        }

        // With a key, a retry (say after a 503 whose commit did land) reaches the same record instead of making a second.
        var caller = http.User.ToCaller();
        var id = idempotencyKey is null ? Guid.NewGuid() : idempotentId(caller.TenantId, caller.UserId, idempotencyKey);
        var grain = Grain(grains, http, id);
        var outcome = idempotencyKey is null ? await grain.CreateAsync(fields!) : await grain.CreateOnceAsync(fields!);
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Version);
        return TypedResults.Created($"{path}/{id}", toResponse(outcome.Value));
    }

    private async Task<Results<Ok<TResponse>, FieldProblem, ProblemHttpResult>> UpdateAsync(Guid id, TBody body, HttpContext http, IGrainFactory grains)
    {
        if (!RecordHttp.TryIfMatch(http, out var expected))
        {
            return RecordHttp.Malformed("If-Match", RecordHttp.IfMatchRule);
        }

        var (invalid, fields) = await FieldsAsync(body, http, grains);
        if (invalid is not null)
        {
            return invalid;
        }

        var outcome = await Grain(grains, http, id).UpdateAsync(fields!, expected);
        if (!outcome.Succeeded)
        {
            return outcome.Failure == Failure.NotFound ? NotFound() : Problems.From(outcome);
        }

        http.Response.Headers.ETag = RecordHttp.ETag(outcome.Value!.Version);
        return TypedResults.Ok(toResponse(outcome.Value));
    }

    private static readonly HashSet<string> CascadeParameter = new(StringComparer.Ordinal) { "cascade" };

    /// <summary>
    /// DELETE: a record that others still depend on answers 409 with their counts, unless <c>?cascade=true</c> (for a
    /// type that <c>cascades</c>) removes them with it; any other parameter is refused.
    /// </summary>
    private Task<Results<NoContent, FieldProblem, ProblemHttpResult>> RemoveAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, cascades ? CascadeParameter : []);
        var cascade = false;
        if (cascades && query.TryGetValue("cascade", out var text) && !bool.TryParse(text.ToString(), out cascade))
        {
            errors.Check("cascade", "cascade is true or false.");
        }

        return errors.Any ? Task.FromResult<Results<NoContent, FieldProblem, ProblemHttpResult>>(errors.ToProblem())
            : DeleteAsync(id, http, grains, (grain, version) => grain.DeleteAsync(version, cascade));
    }

    /// <summary>DELETE with If-Match; <paramref name="delete"/> is the grain call.</summary>
    private async Task<Results<NoContent, FieldProblem, ProblemHttpResult>> DeleteAsync(Guid id, HttpContext http, IGrainFactory grains, Func<TGrain, int?, Task<Outcome<bool>>> delete)
    {
        if (!RecordHttp.TryIfMatch(http, out var expected))
        {
            return RecordHttp.Malformed("If-Match", RecordHttp.IfMatchRule);
        }

        var outcome = await delete(Grain(grains, http, id), expected);
        return outcome.Succeeded ? TypedResults.NoContent()
            : outcome.Failure == Failure.NotFound ? NotFound()
            : Problems.From(outcome);
    }

    /// <summary>
    /// The body's fields, or the refusal listing every rule it breaks: the type's own and, for a type with custom fields,
    /// its <c>customFields</c> checked against the tenant's current definitions (canonical values in the fields).
    /// </summary>
    private async Task<(FieldProblem? Invalid, TFields? Fields)> FieldsAsync(TBody body, HttpContext http, IGrainFactory grains)
    {
        var errors = check(body);
        var values = CustomFieldRules.Empty;
        if (customFields is not null)
        {
            var definitions = await CustomFieldsApi.DefinitionsAsync(grains, http, customFields.RecordType);
            values = CustomFieldRules.Canonicalize(customFields.Values(body), definitions, errors);
        }

        if (errors.Count > 0)
        {
            return (Problems.Validation(errors.ToDictionary(e => e.Key, e => new[] { e.Value })), default);
        }

        var fields = toFields(body);
        return (null, customFields is null ? fields : customFields.With(fields, values));
    }
}

/// <summary>
/// What the OpenAPI document says of a record type's item routes (<c>POST</c>, <c>GET/PUT/DELETE …/{id}</c>): written per
/// type, next to its other routes, since what a create counts against and what a delete refuses differ by type.
/// </summary>
public sealed record RecordDescriptions(string Create, string Get, string Update, string Delete);

/// <summary>
/// How a record type's routes carry custom fields: the record type the definitions belong to, a body's
/// <c>customFields</c> object, and the fields with the canonical values set.
/// </summary>
public sealed record RecordCustomFields<TBody, TFields>(string RecordType, Func<TBody, JsonElement?> Values, Func<TFields, string, TFields> With);
