using System.Globalization;
using System.Text.Json;
using CsvHelper;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Shohayota.Api.Auth;
using Shohayota.Api.CustomFields;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.CustomFields;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.CustomFields;
using Shohayota.Grains.Interfaces.Records;

namespace Shohayota.Api.Records;

/// <summary>
/// CSV imports of customers and contacts (tenant admins): the file is parsed here with CsvHelper (header row mapped by
/// column name), every row is checked with the API's own rules and against the tenant's records by the tenant's
/// <see cref="IImportGrain"/>, and a real run writes all of it in one audited transaction or nothing.
/// </summary>
public static class ImportsApi
{
    private static readonly HashSet<string> Parameters = new(StringComparer.Ordinal) { "dryRun", "onDuplicate" };

    /// <summary>Columns an export writes that an import does not take (so an export can be imported again).</summary>
    private static readonly HashSet<string> ExportOnly = new(StringComparer.OrdinalIgnoreCase) { "id", "createdAt", "updatedAt", "version" };

    // RFC 4180 as written: a comma between fields (no guessing), and bad quoting refuses the file instead of being patched up.
    private static readonly CsvReaderOptions ReaderOptions = new()
    {
        Separator = ',',
        MalformedData = CsvMalformedDataHandling.Throw,
        TrackLineNumbers = true,
    };

    private static readonly string[] CustomerColumns = ["name", "email", "phone", "company", "status", "tags", "notes", "ownerUserId"];

    private static readonly string[] ContactColumns = ["firstName", "lastName", "email", "phone", "title", "customerId", "ownerUserId", "tags", "notes"];

    /// <summary>The record types a file can be imported as (the route's last segment).</summary>
    public static readonly IReadOnlyList<string> RecordTypes = ["customers", "contacts"];

    public static IEndpointRouteBuilder MapImportsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/imports").WithTags("Imports").RequireAdmission(AuthExtensions.TenantAdminPolicy);
        // A dry run answers 200 with what the import would do, an import 201; a file with errors is refused whole (400).
        foreach (var (records, record, quotas) in new[] { ("customers", "customer", "customers and storage quotas"), ("contacts", "contact", "storage quota") })
        {
            group.MapPost("/" + records, (HttpContext http, IGrainFactory grains) => ImportAsync(http, grains, records))
                .WithMetadata(new DocumentedBody(typeof(string), "text/csv")).Produces<ImportResponse>().Produces<ImportResponse>(StatusCodes.Status201Created)
                .WithMetadata(new QueryParameters(Parameters), new ProblemResponses(413, 415, 429))
                .WithDescription($"Imports a CSV file of {records} (`Content-Type: text/csv`, a header row naming the columns, at most 10 MiB " +
                    "and 50,000 rows) all or nothing, in one transaction: 201 with the import's `id`, or 400 `import-invalid` listing the errors " +
                    "by row and column with nothing written. `?dryRun=true` answers 200 with what the import would do and writes nothing; " +
                    "`?onDuplicate=error|skip|update` says what becomes of a row whose e-mail a record of the tenant already has. Each record is " +
                    $"audited as `{record}.created` or `{record}.updated` and the import as `{records}.imported`; it counts against the {quotas}; " +
                    "one import of a tenant at a time per node (another: 429 `rate-limited` with Retry-After, before its file is read); " +
                    "tenant admins (or an admin API key) only.");
        }

        group.MapGet("/{id:guid}", GetImportAsync)
            .WithDescription("An import's result, read back from its audit entry: the record type, rows, created, updated and skipped counts, " +
                "columns and when it ran. Tenant admins (or an admin API key); another tenant's import is 404 like a missing one.");
        return routes;
    }

    /// <summary>
    /// What running a file gave: <see cref="Problem"/> when the file itself is refused (not CSV, no usable header, too
    /// many rows), else the import's outcome (a dry run's counts and errors, or a real run's result or refusal).
    /// </summary>
    public sealed record ImportRun(string? Problem, Outcome<ImportResult>? Outcome, IReadOnlyList<string> Columns, IReadOnlyList<string> Ignored);

    /// <summary>
    /// Parses <paramref name="body"/> as a file of <paramref name="records"/> and runs it through the tenant's import
    /// grain as <paramref name="caller"/>: the REST route and the web UI's import page both come here.
    /// </summary>
    /// <remarks>
    /// Columns named <c>cf.{key}</c> are the record type's custom fields (its current definitions): each cell is read as
    /// the field's type, and the grain checks the values (required fields, options) with the other rules.
    /// </remarks>
    public static async Task<ImportRun> RunAsync(IGrainFactory grains, Caller caller, string records, byte[] body, bool dryRun, string onDuplicate)
    {
        if (!RecordTypes.Contains(records))
        {
            throw new ArgumentOutOfRangeException(nameof(records), records, "Not a record type an import takes.");
        }

        var imports = grains.GetGrain<IImportGrain>(GrainKeys.Imports(caller.TenantId));
        var definitions = await grains.GetGrain<ICustomFieldsGrain>(GrainKeys.CustomFields(caller.TenantId)).GetAsync(records);
        string[] custom = [.. definitions.Select(d => CustomFieldsApi.Prefix + d.Key)];
        return records switch
        {
            "customers" => await RunAsync(body, dryRun, onDuplicate, [.. CustomerColumns, .. custom], ["name"],
                cells => new CustomerFields(cells.Text("name") ?? "", cells.Text("email"), cells.Text("phone"), cells.Text("company"),
                    cells.Text("status") ?? CustomerStatuses.Default, cells.Tags(), cells.Text("notes"), cells.Id("ownerUserId"), cells.CustomFields(definitions)),
                imports.ImportCustomersAsync),
            _ => await RunAsync(body, dryRun, onDuplicate, [.. ContactColumns, .. custom], ["firstName", "lastName"],
                cells => new ContactFields(cells.Text("firstName"), cells.Text("lastName"), cells.Text("email"), cells.Text("phone"), cells.Text("title"),
                    cells.Id("customerId"), cells.Id("ownerUserId"), cells.Tags(), cells.Text("notes"), cells.CustomFields(definitions)),
                imports.ImportContactsAsync),
        };
    }

    private static async Task<ImportRun> RunAsync<TFields>(
        byte[] body, bool dryRun, string onDuplicate, string[] known, string[] required, Func<Cells, TFields> fields,
        Func<ImportRequest<TFields>, Task<Outcome<ImportResult>>> run)
    {
        var parsed = Parse(body, known, required, fields);
        if (parsed.Problem is { } problem)
        {
            return new ImportRun(problem, null, [], []);
        }

        var outcome = await run(new ImportRequest<TFields>(parsed.Rows, parsed.Columns, dryRun, onDuplicate, parsed.FileRows, parsed.Errors));
        return new ImportRun(null, outcome, parsed.Columns, parsed.Ignored);
    }

    public sealed record ImportErrorResponse(int Row, string Column, string Message);

    public sealed record ImportResponse(
        Guid? Id, string Records, bool DryRun, int Rows, int Created, int Updated, int Skipped, int ErrorCount, IReadOnlyList<ImportErrorResponse> Errors,
        IReadOnlyList<string> Columns, IReadOnlyList<string> IgnoredColumns, DateTimeOffset? At);

    private static async Task<IResult> ImportAsync(HttpContext http, IGrainFactory grains, string records)
    {
        var query = http.Request.Query;
        var errors = RecordHttp.CheckParameters(query, Parameters);
        var dryRun = false;
        if (query.TryGetValue("dryRun", out var dryText) && !bool.TryParse(dryText.ToString(), out dryRun))
        {
            errors.Check("dryRun", "dryRun is true or false.");
        }

        var onDuplicate = query.TryGetValue("onDuplicate", out var duplicate) ? duplicate.ToString() : ImportDuplicates.Error;
        errors.Check("onDuplicate", ImportDuplicates.All.Contains(onDuplicate) ? null : $"onDuplicate is one of: {string.Join(", ", ImportDuplicates.All)}.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (!string.Equals(http.Request.GetTypedHeaders().ContentType?.MediaType.Value, CsvExport.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                "Send the file as text/csv (curl: -H 'Content-Type: text/csv' --data-binary @customers.csv).");
        }

        // One import of a tenant at a time on this node (a heavy route): a second is refused before its body is read,
        // instead of buffering and parsing up to 10 MiB to wait behind the first at the tenant's import grain.
        // Released when the import is done, before its answer is written (a client may send the next one at once).
        var caller = http.User.ToCaller();
        using var permit = http.RequestServices.GetRequiredService<HeavyRouteLimiter>().TryEnter(http, HeavyRoute.Import, caller.TenantId, out var busy);
        if (permit is null)
        {
            return busy!;
        }

        var (body, tooLarge) = await ReadBodyAsync(http);
        if (tooLarge)
        {
            return Problems.Create(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "Payload too large",
                $"An import takes files up to {ImportLimits.MaxBytes / (1024 * 1024)} MiB; split the file.");
        }

        var run = await RunAsync(grains, caller, records, body, dryRun, onDuplicate);
        if (run.Problem is { } problem)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "invalid-csv", "Invalid CSV file", problem);
        }

        var outcome = run.Outcome!;
        if (!outcome.Succeeded)
        {
            return Problems.From(outcome);
        }

        var result = outcome.Value!;
        var response = new ImportResponse(result.Id, records, result.DryRun, result.Rows, result.Created, result.Updated, result.Skipped, result.ErrorCount,
            result.Errors.Select(e => new ImportErrorResponse(e.Row, e.Column, e.Message)).ToList(), run.Columns, run.Ignored, result.At);
        if (dryRun)
        {
            return TypedResults.Ok(response);
        }

        if (result.ErrorCount > 0)
        {
            var refused = Problems.Create(StatusCodes.Status400BadRequest, "import-invalid", "Import refused",
                $"{result.ErrorCount} error(s) in the file; nothing was imported. The first {result.Errors.Count} are listed by row (the header is row 1).");
            refused.ProblemDetails.Extensions["rows"] = result.Rows;
            refused.ProblemDetails.Extensions["errorCount"] = result.ErrorCount;
            refused.ProblemDetails.Extensions["errors"] = response.Errors;
            return refused;
        }

        return TypedResults.Created($"/api/imports/{result.Id}", response);
    }

    /// <summary>The body, up to <see cref="ImportLimits.MaxBytes"/>; more is refused whole (a declared length before reading).</summary>
    private static async Task<(byte[] Body, bool TooLarge)> ReadBodyAsync(HttpContext http)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = ImportLimits.MaxBytes;
        }

        if (http.Request.ContentLength > ImportLimits.MaxBytes)
        {
            return ([], true);
        }

        try
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            return buffer.Length > ImportLimits.MaxBytes ? ([], true) : (buffer.ToArray(), false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ([], true);
        }
    }

    private sealed record Parsed<TFields>(
        IReadOnlyList<ImportRow<TFields>> Rows, IReadOnlyList<ImportError> Errors, IReadOnlyList<string> Columns, IReadOnlyList<string> Ignored, int FileRows,
        string? Problem);

    /// <summary>
    /// The rows of the file: UTF-8 with or without a byte order mark, RFC 4180, the header row mapped to the record's
    /// fields by name (case-insensitive). A cell that does not parse (an id) is an error of its row; a file that is not
    /// CSV, not UTF-8, has no usable header or too many rows is refused whole (<see cref="Parsed{TFields}.Problem"/>).
    /// </summary>
    private static Parsed<TFields> Parse<TFields>(byte[] body, string[] known, string[] required, Func<Cells, TFields> fields)
    {
        static Parsed<TFields> Refuse(string problem) => new([], [], [], [], 0, problem);
        var start = body.AsSpan().StartsWith((byte[])[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        if (!System.Text.Unicode.Utf8.IsValid(body.AsSpan(start)))
        {
            return Refuse("The file is not UTF-8 text; save it as CSV UTF-8.");
        }

        if (body.Length == start)
        {
            return Refuse("The file is empty; it needs a header row.");
        }

        try
        {
            using var reader = CsvReader.Create(body.AsMemory(start), ReaderOptions);
            reader.ReadHeader();
            var names = reader.Headers.ToList();
            var map = new Dictionary<string, int>(StringComparer.Ordinal);
            var ignored = new List<string>();
            for (var i = 0; i < names.Count; i++)
            {
                var name = names[i].Trim();
                if (known.FirstOrDefault(k => k.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } field)
                {
                    if (!map.TryAdd(field, i))
                    {
                        return Refuse($"The column \"{field}\" appears twice in the header.");
                    }
                }
                else if (!ExportOnly.Contains(name))
                {
                    ignored.Add(name);
                }
            }

            if (!required.Any(map.ContainsKey))
            {
                return Refuse($"The header row needs a {string.Join(" or a ", required.Select(r => $"\"{r}\""))} column (columns are matched by name: {string.Join(", ", known)}).");
            }

            var rows = new List<ImportRow<TFields>>();
            var errors = new List<ImportError>();
            var row = 1;
            while (reader.Read())
            {
                row++;
                if (row - 1 > ImportLimits.MaxRows)
                {
                    return Refuse($"An import has at most {ImportLimits.MaxRows:N0} rows; split the file.");
                }

                var cells = new Cells(reader, map, row);
                var parsed = fields(cells);
                if (cells.Errors.Count > 0)
                {
                    errors.AddRange(cells.Errors);
                }
                else
                {
                    rows.Add(new ImportRow<TFields>(row, parsed));
                }
            }

            return new(rows, errors, [.. map.Keys.OrderBy(k => Array.IndexOf(known, k))], ignored, row - 1, null);
        }
        catch (CsvFormatException e)
        {
            return Refuse($"The file is not valid CSV (RFC 4180): {e.Message}");
        }
    }

    /// <summary>The cells of one record by field name, with what a spreadsheet or an export did to them undone.</summary>
    private sealed class Cells(CsvReader reader, Dictionary<string, int> map, int row)
    {
        private static readonly char[] Formula = ['=', '+', '-', '@', '\t', '\r'];

        public List<ImportError> Errors { get; } = [];

        /// <summary>The cell's text, null when empty or missing; an export's <c>'</c> before a formula character is removed.</summary>
        public string? Text(string field)
        {
            if (!map.TryGetValue(field, out var index) || index >= reader.FieldCount)
            {
                return null;
            }

            var text = reader.GetString(index);
            if (text.Length >= 2 && text[0] == '\'' && Formula.Contains(text[1]))
            {
                text = text[1..];
            }

            return text.Length == 0 ? null : text;
        }

        public Guid? Id(string field)
        {
            var text = Text(field)?.Trim();
            if (text is null)
            {
                return null;
            }

            if (Guid.TryParse(text, out var id))
            {
                return id;
            }

            Errors.Add(new ImportError(row, field, $"{field} must be an id."));
            return null;
        }

        /// <summary>
        /// The row's <c>cf.{key}</c> cells that are not empty, each read as its field's type (a number, true/false, text),
        /// as a JSON object; a cell that is not one is an error of its column.
        /// </summary>
        public string CustomFields(IReadOnlyList<CustomFieldDefinition> definitions)
        {
            var values = new System.Text.Json.Nodes.JsonObject();
            foreach (var definition in definitions)
            {
                var column = CustomFieldsApi.Prefix + definition.Key;
                if (Text(column) is not { } text)
                {
                    continue;
                }

                var (value, error) = CustomFieldRules.FromText(definition, text);
                if (error is not null)
                {
                    Errors.Add(new ImportError(row, column, error));
                }
                else
                {
                    values[definition.Key] = System.Text.Json.Nodes.JsonNode.Parse(value!.Value.GetRawText());
                }
            }

            return values.Count == 0 ? CustomFieldRules.Empty : values.ToJsonString();
        }

        /// <summary>Tags separated by <c>;</c> (as an export writes them), trimmed, empty ones left out.</summary>
        public IReadOnlyList<string> Tags() =>
            Text("tags")?.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
    }

    /// <summary>A real import's result, from its audit entry (the import's id is the entry's target).</summary>
    private static async Task<Results<Ok<ImportResponse>, ProblemHttpResult>> GetImportAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var caller = http.User.ToCaller();
        var page = await grains.GetGrain<IAuditQueryGrain>(GrainKeys.AuditQuery(caller.TenantId))
            .ListAsync(new AuditQuery(null, null, id.ToString("D"), null, null, null, 10, null));
        if (page.Items.FirstOrDefault(e => e.TargetType == "import" && e.Action.EndsWith(".imported", StringComparison.Ordinal)) is not { } entry)
        {
            return Problems.From(Failure.NotFound, "No such import.");
        }

        using var details = JsonDocument.Parse(entry.Details ?? "{}");
        var d = details.RootElement;
        int Number(string name) => d.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
        return TypedResults.Ok(new ImportResponse(id, d.GetProperty("records").GetString()!, false, Number("rows"), Number("created"), Number("updated"),
            Number("skipped"), 0, [], d.TryGetProperty("columns", out var columns) ? [.. columns.EnumerateArray().Select(c => c.GetString()!)] : [], [], entry.At));
    }
}
