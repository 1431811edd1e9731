using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;

namespace Shohayota.Grains.Interfaces.Records;

/// <summary>What an import does with a row whose e-mail address a record of the tenant already has.</summary>
public static class ImportDuplicates
{
    public const string Error = "error";
    public const string Skip = "skip";
    public const string Update = "update";

    public static readonly IReadOnlyList<string> All = [Error, Skip, Update];
}

/// <summary>One data row of the file: its row number as a spreadsheet shows it (the header is row 1) and its fields.</summary>
[GenerateSerializer, Immutable, Alias("ImportRow`1")]
public sealed record ImportRow<TFields>(
    [property: Id(0)] int Row,
    [property: Id(1)] TFields Fields);

/// <summary>A problem with one cell (or a whole row: <see cref="Column"/> is then empty).</summary>
[GenerateSerializer, Immutable, Alias("ImportError")]
public sealed record ImportError(
    [property: Id(0)] int Row,
    [property: Id(1)] string Column,
    [property: Id(2)] string Message);

/// <summary>
/// An import as the API parsed it: the rows whose cells parsed (<see cref="Rows"/>), the columns the file has (an update
/// replaces only those), and the errors the parsing found (so the answer lists every error, the grain's and the API's).
/// </summary>
[GenerateSerializer, Immutable, Alias("ImportRequest`1")]
public sealed record ImportRequest<TFields>(
    [property: Id(0)] IReadOnlyList<ImportRow<TFields>> Rows,
    [property: Id(1)] IReadOnlyList<string> Columns,
    [property: Id(2)] bool DryRun,
    [property: Id(3)] string OnDuplicate,
    [property: Id(4)] int FileRows,
    [property: Id(5)] IReadOnlyList<ImportError> ParseErrors);

/// <summary>
/// What an import did (or, dry, would do). <see cref="Errors"/> holds the first <see cref="ImportLimits.ReportedErrors"/>
/// by row; <see cref="ErrorCount"/> counts them all. A real run with any error writes nothing.
/// </summary>
[GenerateSerializer, Immutable, Alias("ImportResult")]
public sealed record ImportResult(
    [property: Id(0)] Guid? Id,
    [property: Id(1)] string Records,
    [property: Id(2)] bool DryRun,
    [property: Id(3)] int Rows,
    [property: Id(4)] int Created,
    [property: Id(5)] int Updated,
    [property: Id(6)] int Skipped,
    [property: Id(7)] int ErrorCount,
    [property: Id(8)] IReadOnlyList<ImportError> Errors,
    [property: Id(9)] DateTimeOffset? At = null);

public static class ImportLimits
{
    public const int MaxBytes = 10 * 1024 * 1024;
    public const int MaxRows = 50_000;
    public const int ReportedErrors = 100;
}

/// <summary>
/// One per tenant (<see cref="GrainKeys.Imports"/>): imports customers and contacts from parsed CSV rows, all or nothing,
/// one at a time per tenant (two imports of the same addresses cannot both create them).
/// </summary>
[Alias("IImportGrain")]
public interface IImportGrain : IGrainWithStringKey
{
    // A 50,000-row file with its audit entries takes tens of seconds: longer than the default 30 s a call may take.
    [Alias("ImportCustomers"), ResponseTimeout("00:05:00")]
    Task<Outcome<ImportResult>> ImportCustomersAsync(ImportRequest<CustomerFields> request);

    [Alias("ImportContacts"), ResponseTimeout("00:05:00")]
    Task<Outcome<ImportResult>> ImportContactsAsync(ImportRequest<ContactFields> request);
}
