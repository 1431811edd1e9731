using Orleans.Concurrency;

namespace Shohayota.Grains.Interfaces.Common;

/// <summary>
/// The single writer of one CRM record (a customer, a contact, …), keyed <c>{tenantId}/{type}/{id}</c>: what every
/// record type's grain answers, so the REST routes and the web UI serve any of them with one piece of code.
/// </summary>
[Alias("IRecordGrain`2")]
public interface IRecordGrain<TDetails, TFields> : IGrainWithStringKey
    where TDetails : class, IRecordDetails
{
    [Alias("Get"), ReadOnly]
    Task<TDetails?> GetAsync();

    [Alias("Create")]
    Task<Outcome<TDetails>> CreateAsync(TFields fields);

    /// <summary>
    /// An idempotent create (the id comes from <see cref="RecordIds.ForIdempotencyKey"/>): a retry of the same request
    /// answers with the record the first one created; the same key with different fields is refused.
    /// </summary>
    [Alias("CreateOnce")]
    Task<Outcome<TDetails>> CreateOnceAsync(TFields fields);

    /// <summary>Full update; <paramref name="expectedVersion"/> (from If-Match) must be current when given.</summary>
    [Alias("Update")]
    Task<Outcome<TDetails>> UpdateAsync(TFields fields, int? expectedVersion);

    [Alias("Delete")]
    Task<Outcome<bool>> DeleteAsync(int? expectedVersion);

    /// <summary>
    /// Deletes the record; one that other records still depend on is refused (<see cref="Failure.Conflict"/>, with their
    /// counts) unless <paramref name="cascade"/>, which removes them in the same transaction, one audit entry each: a
    /// customer's contacts, deals and activities, a contact's or a deal's activities. A type nothing depends on ignores it.
    /// </summary>
    [Alias("DeleteCascade")]
    Task<Outcome<bool>> DeleteAsync(int? expectedVersion, bool cascade);

    /// <summary>Drops the activation (a restore, a purge, an import or a cascade changed its row); only those call it.</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}
