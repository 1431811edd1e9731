using System.Text;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using Shohayota.Api.Errors;

namespace Shohayota.Api.Hosting;

/// <summary>
/// The API's OpenAPI document (<c>GET /openapi/v1.json</c>) and its reference UI (<c>/api/docs</c>), both anonymous: they
/// describe routes, never data. The document is derived from the route table: each route's parameters and bodies from
/// its handler, its success responses from its typed results or <c>Produces</c> metadata, its problem responses from
/// what guards it (a token, admission, a path id, a body or query) plus the problems the route itself declares, and
/// each problem status lists the problem <c>type</c> values <see cref="Problems"/> answers with it.
/// </summary>
public static class ApiDocument
{
    public const string Route = "/openapi/{documentName}.json";
    public const string Path = "/openapi/v1.json";
    public const string ReferencePath = "/api/docs";
    private const string BearerScheme = "bearer";
    private const string ApiKeyScheme = "apiKey";
    private const string ProblemSchema = "Problem";

    public static WebApplicationBuilder AddShohayotaApiDocument(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi("v1", options =>
        {
            // The API only: the web UI's pages and form posts, the metrics scrape and the document itself are not in it.
            options.ShouldInclude = d => d.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true;
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
            // A request body's fields may be left out (the route says which it needs, with a validation problem naming
            // them: only what the serializer itself insists on stays required), and so may a response's field that is
            // left out when null (JsonIgnore WhenWritingNull).
            options.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonPropertyInfo is null && schema.Required is { Count: > 0 } required)
                {
                    var request = context.ParameterDescription is not null;
                    foreach (var property in context.JsonTypeInfo.Properties.Where(p => request ? !p.IsRequired : OmittedWhenNull(p)))
                    {
                        required.Remove(property.Name);
                    }
                }

                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                // A body the handler reads itself (a CSV file, a bundle, an optional body), described without routing by it.
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<DocumentedBody>().FirstOrDefault() is { } body)
                {
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = !body.Optional,
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            [body.ContentType] = new() { Schema = await context.GetOrCreateSchemaAsync(body.Type,
                                new Microsoft.AspNetCore.Mvc.ApiExplorer.ApiParameterDescription
                                {
                                    Name = "body", Type = body.Type, Source = Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body,
                                }, cancellationToken) },
                        },
                    };
                }

                Describe(operation, context);
            });
        });
        return builder;
    }

    private static bool OmittedWhenNull(System.Text.Json.Serialization.Metadata.JsonPropertyInfo property) =>
        property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), true).OfType<JsonIgnoreAttribute>()
            .Any(i => i.Condition is JsonIgnoreCondition.WhenWritingNull or JsonIgnoreCondition.WhenWritingDefault) == true;

    /// <summary>
    /// The document, generated on its first request and then served as the same bytes: generating it costs about 80 ms
    /// of CPU, too much to spend on every anonymous request. It names no server (clients use the address they fetched
    /// it from), so nothing in it depends on the request.
    /// </summary>
    public static WebApplication MapShohayotaApiDocument(this WebApplication app)
    {
        var cache = new GeneratedDocument(app.Services.GetRequiredKeyedService<IOpenApiDocumentProvider>("v1"));
        app.MapGet(Path, async () => TypedResults.Bytes(await cache.GetAsync(), "application/json; charset=utf-8"))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapScalarApiReference(ReferencePath, options => options
                .WithTitle("Shohayota API")
                .WithOpenApiRoutePattern(Route)
                // Nothing leaves the page: no telemetry, no web fonts from a CDN (the bundle is served by this node).
                .DisableTelemetry()
                .DisableDefaultFonts())
            .AllowAnonymous();
        return app;
    }

    private static void Describe(OpenApiDocument document)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Shohayota API",
            Version = "v1",
            Description = "A multi-tenant CRM. The tenant is always the caller's, from its token or API key; another tenant's " +
                "id answers like a missing one. Errors are RFC 9457 problem documents (application/problem+json) whose " +
                $"`type` is one of the values under {Problems.TypeBase}.",
            Contact = new OpenApiContact { Name = "Shohayota operators", Url = new Uri("https://shohayota.dev/") },
            License = new OpenApiLicense { Name = "Proprietary", Url = new Uri("https://shohayota.dev/license") },
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT or shy_ API key",
            Description = "An access token from POST /api/auth/login (or /api/auth/refresh), or a tenant API key (shy_…).",
        };
        document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "A tenant API key (shy_…), when the request has no Authorization header.",
        };
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "An RFC 9457 problem document.",
            Required = new HashSet<string> { "type", "title", "status" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Description = "What went wrong, stable for clients to branch on.",
                    Enum = Problems.KindsByStatus.Values.SelectMany(k => k).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                        .Select(k => (JsonNode)JsonValue.Create(Problems.TypeBase + k)).ToList(),
                },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["errors"] = new OpenApiSchema
                {
                    Description = "validation: each invalid field or parameter with its messages; import-invalid: the file's errors by row.",
                    AnyOf =
                    [
                        new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                        },
                        new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Object } },
                    ],
                },
            },
        };

        // Every tag an operation uses is declared, in order.
        var tags = document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []).SelectMany(o => o.Tags ?? new HashSet<OpenApiTagReference>())
            .Select(t => t.Name).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        document.Tags = new HashSet<OpenApiTag>(tags.Select(t => new OpenApiTag { Name = t, Description = $"{t} routes." }));
    }

    private static void Describe(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var method = description.HttpMethod ?? "GET";
        operation.OperationId ??= OperationId(method, description.RelativePath ?? "");
        operation.Summary ??= $"{method} /{description.RelativePath?.TrimEnd('/')}";

        if (metadata.OfType<QueryParameters>().FirstOrDefault() is { } query)
        {
            operation.Parameters ??= [];
            foreach (var name in query.Names.Order(StringComparer.Ordinal))
            {
                operation.Parameters.Add(new OpenApiParameter { Name = name, In = ParameterLocation.Query, Schema = new OpenApiSchema { Type = JsonSchemaType.String } });
            }
        }

        if (metadata.OfType<RequestExamples>().FirstOrDefault() is { } examples &&
            operation.RequestBody?.Content?.TryGetValue("application/json", out var json) == true)
        {
            json.Examples ??= new Dictionary<string, IOpenApiExample>();
            foreach (var (name, body) in examples.Bodies)
            {
                json.Examples[name] = new OpenApiExample { Summary = name, Value = JsonNode.Parse(body) };
            }
        }

        var anonymous = metadata.OfType<IAllowAnonymous>().Any() || !metadata.OfType<IAuthorizeData>().Any();
        var statuses = new SortedSet<int>(metadata.OfType<ProblemResponses>().SelectMany(p => p.Statuses));
        if (!anonymous)
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] }];
            statuses.Add(StatusCodes.Status401Unauthorized);
            statuses.Add(StatusCodes.Status403Forbidden);
        }

        if (metadata.OfType<AdmittedRoute>().Any())
        {
            statuses.Add(StatusCodes.Status429TooManyRequests);
            statuses.Add(StatusCodes.Status503ServiceUnavailable);
        }

        if (description.ParameterDescriptions.Any(p => p.Source.Id == "Path"))
        {
            statuses.Add(StatusCodes.Status404NotFound);
        }

        // A route that names its query parameters refuses any other with a 400, even when it takes none.
        if (method is "POST" or "PUT" or "PATCH" || operation.Parameters?.Any(p => p.In == ParameterLocation.Query) == true ||
            metadata.OfType<QueryParameters>().Any())
        {
            statuses.Add(StatusCodes.Status400BadRequest);
        }

        // A body too large for the node (1 MB of JSON) or of another content type is refused before the handler reads it.
        if (operation.RequestBody is not null)
        {
            statuses.Add(StatusCodes.Status413PayloadTooLarge);
            statuses.Add(StatusCodes.Status415UnsupportedMediaType);
        }

        operation.Responses ??= [];
        foreach (var status in statuses)
        {
            var kinds = Problems.KindsByStatus.TryGetValue(status, out var known) ? known : [];
            operation.Responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = kinds.Length == 0 ? "A problem." : "A problem; with this status the API answers " + string.Join(", ", kinds) + ".",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, context.Document) },
                },
            };
        }
    }

    /// <summary><c>GET api/customers/{id}/timeline</c> → <c>getApiCustomersIdTimeline</c>: unique, since method and path are.</summary>
    private static string OperationId(string method, string path)
    {
        var id = new StringBuilder(method.ToLowerInvariant());
        foreach (var part in path.Split(['/', '-', '{', '}', '.'], StringSplitOptions.RemoveEmptyEntries))
        {
            id.Append(char.ToUpperInvariant(part[0])).Append(part.AsSpan(1));
        }

        return id.ToString();
    }
}

/// <summary>The serialized document, made once (again after a failed attempt; requests meanwhile wait for the same one).</summary>
internal sealed class GeneratedDocument(IOpenApiDocumentProvider provider)
{
    private readonly Lock _gate = new();
    private Task<byte[]>? _making;

    public Task<byte[]> GetAsync()
    {
        lock (_gate)
        {
            if (_making is null || _making.IsFaulted || _making.IsCanceled)
            {
                _making = MakeAsync();
            }

            return _making;
        }
    }

    private async Task<byte[]> MakeAsync()
    {
        var document = await provider.GetOpenApiDocumentAsync();
        return Encoding.UTF8.GetBytes(await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1));
    }
}

/// <summary>The query parameters a route reads from the query string itself (its own allow-list), for the document.</summary>
public sealed record QueryParameters(IReadOnlyCollection<string> Names);

/// <summary>
/// The body of a route whose handler reads it itself, for the document only (unlike <c>Accepts</c>, which routes by
/// the request's content type and would answer a wrong one with the router's bare 415 instead of the handler's own).
/// </summary>
public sealed record DocumentedBody(Type Type, string ContentType, bool Optional = false);

/// <summary>Example request bodies of a route (the runbook's, and the README's first steps), by name.</summary>
public sealed record RequestExamples(params (string Name, string Json)[] Bodies);

/// <summary>Problem statuses a route answers beyond what its guards imply (409, 412, 413, 422 …), for the document.</summary>
public sealed record ProblemResponses(params int[] Statuses);

/// <summary>A route admitted per request (<c>RequireAdmission</c>): it may answer 429 and 503 too.</summary>
public sealed class AdmittedRoute
{
    public static readonly AdmittedRoute Instance = new();

    private AdmittedRoute()
    {
    }
}
