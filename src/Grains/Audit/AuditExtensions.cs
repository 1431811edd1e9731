using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Audit;

internal static class AuditExtensions
{
    public static IAuditWriterGrain AuditLog(this IGrainFactory grains, Guid tenantId) => grains.GetGrain<IAuditWriterGrain>(GrainKeys.AuditLog(tenantId));

    public static SqlStatement Sql(string sql, params object?[] parameters) => new(sql, parameters);

    public static AuditedChange Change(SqlStatement[] statements, params AuditDraft[] entries) => new(statements, entries);

    public static Task<IReadOnlyList<AuditEntry>> AppendAsync(this IAuditLogGrain log, params AuditDraft[] entries) => log.AppendAsync(entries);
}
