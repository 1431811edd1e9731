using System.Globalization;
using CsvHelper;
using Microsoft.Net.Http.Headers;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Api.Records;

/// <summary>
/// A record list as CSV (<c>Accept: text/csv</c> on the list route): every row matching the list's filters, no paging,
/// streamed page by page with the list's own keyset (so memory stays flat and no transaction is held open), RFC 4180
/// quoting, UTF-8 with a byte order mark (spreadsheets read it as UTF-8), and every text cell that starts like a formula
/// (<c>= + - @</c>, tab, CR) prefixed with <c>'</c> so a spreadsheet shows it as text. A heavy route: one at a time per
/// tenant and node. Audited as <c>{records}.exported</c> with the row count and the filters.
/// </summary>
public static class CsvExport
{
    public const string MediaType = "text/csv";

    /// <summary>The rows of one keyset page fetched with the list's own query; the list's engine, whichever record it is.</summary>
    private delegate Task<Outcome<(IReadOnlyList<T> Items, TCursor? Next)>> PageReader<T, TCursor>(TCursor? after) where TCursor : class;

    private static readonly string[] PagingParameters = ["pageSize", "cursor"];

    private static readonly CsvWriterOptions Options = new()
    {
        Injection = CsvInjection.Escape,
        WriteByteOrderMark = true,
    };

    /// <summary>Whether the client asked for CSV (and not JSON first).</summary>
    public static bool Wanted(HttpRequest request) =>
        request.GetTypedHeaders().Accept is { Count: > 0 } accept
        && accept.Where(a => a.Quality is not 0).OrderByDescending(a => a.Quality ?? 1).FirstOrDefault() is { } first
        && first.MediaType.Equals(MediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>The paging parameters make no sense for an export; anything else the list accepts filters it.</summary>
    public static void CheckNoPaging(IQueryCollection query, FieldErrors errors)
    {
        foreach (var name in PagingParameters.Where(query.ContainsKey))
        {
            errors.Check(name, $"A CSV export streams every matching row: leave out {name}.");
        }
    }

    /// <summary>
    /// Answers the export: the first page is read before anything is sent, so its failure is a problem response;
    /// a failure later cuts the stream off (no last record), and is logged and audited as failed.
    /// </summary>
    /// <summary>The export over a list's own pages: <paramref name="split"/> takes a page apart into its rows and the next cursor.</summary>
    public static Task<IResult> StreamAsync<T, TCursor, TPage>(
        HttpContext http, string records, IReadOnlyList<string> header, Action<CsvWriter, T> writeRow, Func<TCursor?, Task<Outcome<TPage>>> read,
        Func<TPage, (IReadOnlyList<T> Items, TCursor? Next)> split, IReadOnlyDictionary<string, string?> filters)
        where TCursor : class =>
        StreamAsync<T, TCursor>(http, records, header, writeRow,
            async after => await read(after) is var page && page.Succeeded
                ? Outcome<(IReadOnlyList<T>, TCursor?)>.Ok(split(page.Value!))
                : page.As<(IReadOnlyList<T>, TCursor?)>(),
            filters);

    private static async Task<IResult> StreamAsync<T, TCursor>(
        HttpContext http, string records, IReadOnlyList<string> header, Action<CsvWriter, T> writeRow, PageReader<T, TCursor> read,
        IReadOnlyDictionary<string, string?> filters)
        where TCursor : class
    {
        var caller = http.User.ToCaller();
        var heavy = http.RequestServices.GetRequiredService<HeavyRouteLimiter>();
        var permit = heavy.TryEnter(http, HeavyRoute.CsvExport, caller.TenantId, out var refused);
        if (permit is null)
        {
            return refused!;
        }

        var first = await read(null);
        if (!first.Succeeded)
        {
            permit.Dispose();
            Problems.SetRetryAfter(http.Response, first);
            return Problems.From(first);
        }

        return new Stream<T, TCursor>(records, header, writeRow, read, first.Value, filters, permit);
    }

    private sealed class Stream<T, TCursor>(
        string records, IReadOnlyList<string> header, Action<CsvWriter, T> writeRow, PageReader<T, TCursor> read,
        (IReadOnlyList<T> Items, TCursor? Next) first, IReadOnlyDictionary<string, string?> filters, HeavyRoutePermit permit) : IResult
        where TCursor : class
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            using var _ = permit;
            // A result runs after the endpoint filters returned: the caller they entered did not flow here.
            http.EnterCaller();
            var caller = http.User.ToCaller();
            var stamp = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "text/csv; charset=utf-8";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{records}-{stamp}.csv\"";
            http.Response.Headers.CacheControl = "no-store";
            http.Response.Headers.XContentTypeOptions = "nosniff";
            var log = http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IAuditLogGrain>(GrainKeys.AuditLog(caller.TenantId));
            long rows = 0;
            try
            {
                await using var csv = CsvWriter.Create(http.Response.Body, Options, leaveOpen: true);
                csv.WriteHeader([.. header]);
                var page = first;
                while (true)
                {
                    foreach (var item in page.Items)
                    {
                        writeRow(csv, item);
                        await csv.EndRecordAsync(http.RequestAborted);
                        rows++;
                    }

                    if (page.Next is null)
                    {
                        break;
                    }

                    var next = await read(page.Next);
                    page = next.Succeeded ? next.Value : throw new InvalidOperationException($"Reading the next page failed: {next.Failure} ({next.Detail}).");
                }

                await csv.FlushAsync(http.RequestAborted);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                await log.AppendAsync([Entry(records, caller, rows, filters, e.GetType().Name)]);
                throw;
            }

            await log.AppendAsync([Entry(records, caller, rows, filters, null)]);
        }
    }

    private static AuditDraft Entry(string records, Caller caller, long rows, IReadOnlyDictionary<string, string?> filters, string? error) =>
        new($"{records}.exported", "tenant", caller.TenantId.ToString("D"), error is null ? AuditOutcomes.Success : AuditOutcomes.Failed,
            Shohayota.Grains.Audit.AuditChain.Details(new { format = "csv", rows, filters = filters.Where(f => f.Value is not null).ToDictionary(), error }));
}
