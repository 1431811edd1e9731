using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.CustomFields;

/// <summary>The record types that have custom fields, as the routes (<c>/api/custom-fields/{type}</c>) and the table name them.</summary>
public static class CustomFieldRecordTypes
{
    public const string Customers = "customers";
    public const string Contacts = "contacts";
    public const string Deals = "deals";

    public static readonly IReadOnlyList<string> All = [Customers, Contacts, Deals];
}

/// <summary>What a custom field holds: its JSON value is a string (text, date as YYYY-MM-DD, one of a select's options), a number or a boolean.</summary>
public static class CustomFieldTypes
{
    public const string Text = "text";
    public const string Number = "number";
    public const string Date = "date";
    public const string Select = "select";
    public const string Boolean = "boolean";

    public static readonly IReadOnlyList<string> All = [Text, Number, Date, Select, Boolean];
}

/// <summary>One custom field of a record type, as a tenant admin defines it.</summary>
[GenerateSerializer, Immutable, Alias("CustomFieldDefinition")]
public sealed record CustomFieldDefinition(
    [property: Id(0)] string Key,
    [property: Id(1)] string Label,
    [property: Id(2)] string Type,
    [property: Id(3)] IReadOnlyList<string> Options,
    [property: Id(4)] bool Required);

/// <summary>
/// One tenant's custom-field definitions for every record type (<see cref="GrainKeys.CustomFields"/>): read by every
/// record write (kept in memory), replaced by the tenant's admins.
/// </summary>
[Alias("ICustomFieldsGrain")]
public interface ICustomFieldsGrain : IGrainWithStringKey
{
    /// <summary>The definitions of <paramref name="recordType"/> (one of <see cref="CustomFieldRecordTypes"/>) in their order.</summary>
    [Alias("Get"), ReadOnly, AlwaysInterleave]
    Task<IReadOnlyList<CustomFieldDefinition>> GetAsync(string recordType);

    /// <summary>
    /// Replaces the definitions of <paramref name="recordType"/> (tenant admins only, checked here from the signed
    /// caller): one audited transaction. A field removed, a type changed or a select option removed while records still
    /// hold such values is refused (409, naming the counts), and so is a list that breaks the rules (400).
    /// </summary>
    [Alias("Replace")]
    Task<Outcome<IReadOnlyList<CustomFieldDefinition>>> ReplaceAsync(string recordType, IReadOnlyList<CustomFieldDefinition> definitions);

    /// <summary>Drops the definitions held in memory (a restore rewrote the rows); the next call reads them again.</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}
