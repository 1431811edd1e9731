using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;

namespace Shohayota.Grains.Audit;

internal static class AuditExtensions
{
    public static IAuditWriterGrain AuditLog(this IGrainFactory grains, Guid tenantId) => grains.GetGrain<IAuditWriterGrain>(GrainKeys.AuditLog(tenantId));

    public static SqlStatement Sql(string sql, params object?[] parameters) => new(sql, parameters);

    public static AuditedChange Change(SqlStatement[] statements, params AuditDraft[] entries) => new(statements, entries);

    /// <summary>A change that grows or shrinks the tenant's counted quotas by <paramref name="quota"/>.</summary>
    public static AuditedChange Change(SqlStatement[] statements, QuotaDelta quota, params AuditDraft[] entries) => new(statements, entries, quota);

    public static Task<IReadOnlyList<AuditEntry>> AppendAsync(this IAuditLogGrain log, params AuditDraft[] entries) => log.AppendAsync(entries);
}
