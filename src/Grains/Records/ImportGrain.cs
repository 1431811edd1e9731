using Shohayota.Grains.Audit;
using Shohayota.Grains.Contacts;
using Shohayota.Grains.Customers;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Contacts;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Interfaces.Records;

namespace Shohayota.Grains.Records;

/// <summary>
/// A tenant's imports, one at a time (a non-reentrant grain per tenant): two files naming the same new address cannot
/// both create it. Each import is one transaction through the tenant's audit writer: the records, one entry per record
/// and the import's own entry, with the quota growth reserved for the whole file (refused as a whole).
/// </summary>
[GrainType("imports")]
public sealed class ImportGrain(TenantDatabase database, TimeProvider time) : Grain, IImportGrain
{
    private Guid TenantId => GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;

    public Task<Outcome<ImportResult>> ImportCustomersAsync(ImportRequest<CustomerFields> request) => RunAsync(CustomerImport.Instance, request);

    public Task<Outcome<ImportResult>> ImportContactsAsync(ImportRequest<ContactFields> request) => RunAsync(ContactImport.Instance, request);

    private Task<Outcome<ImportResult>> RunAsync<TFields, TDetails>(RecordImport<TFields, TDetails> type, ImportRequest<TFields> request)
        where TDetails : class, IRecordDetails
    {
        // The grain's own rule, not only the route's: a tenant's admins import (a key of that role too), members do not.
        if (Caller.Current is not { } caller || !(caller.Role == Roles.TenantAdmin && caller.TenantId == TenantId || caller.IsSuperAdmin))
        {
            return Task.FromResult(Outcome<ImportResult>.Fail(Failure.Forbidden, "Only the tenant's admins import records."));
        }

        if (request.Rows.Count > ImportLimits.MaxRows || request.FileRows > ImportLimits.MaxRows)
        {
            return Task.FromResult(Outcome<ImportResult>.Fail(Failure.Validation, $"An import has at most {ImportLimits.MaxRows:N0} rows."));
        }

        var tenant = TenantId;
        return new RecordImporter<TFields, TDetails>(type, tenant, database, GrainFactory, time)
            .RunAsync(request, change => GrainFactory.AuditLog(tenant).ExecuteLargeAsync(change));
    }
}
