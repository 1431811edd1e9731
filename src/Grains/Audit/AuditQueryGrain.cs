using System.Globalization;
using System.Text;
using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Audit;

// Stateless worker keyed per tenant: reads run in parallel, and the key puts every call under the tenant check. The
// grain checks the role itself, whatever route led here: a member reaching it from a cluster client reads no more than
// the API would give them (a customer's timeline, without addresses and user agents), never the tenant's whole log.
[StatelessWorker, GrainType("audit-query")]
public sealed class AuditQueryGrain(TenantDatabase database) : Grain, IAuditQueryGrain
{
    internal const string Columns =
        "id, tenant_id, seq, created_at, actor_id, actor_email, actor_role, action, target_type, target_id, outcome, ip, user_agent, request_id, details, prev_hash, hash";

    public async Task<AuditPage> ListAsync(AuditQuery query)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        if (!IsAuditReader(tenantId))
        {
            throw new TenantAccessDeniedException("Only the tenant's admins read its audit log.");
        }

        var sql = new StringBuilder($"SELECT {Columns} FROM audit_logs WHERE tenant_id = $1");
        var parameters = new List<object> { tenantId };
        string Next(object value)
        {
            parameters.Add(value);
            return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        }

        if (query.ActionPrefix is { } prefix)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND action LIKE {Next(PostgresErrors.EscapeLike(prefix) + "%")}");
        }

        if (query.ActorId is { } actor)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND actor_id = {Next(actor)}");
        }

        if (query.TargetId is { } target)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND target_id = {Next(target)}");
        }

        if (query.Outcome is { } outcome)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND outcome = {Next(outcome)}");
        }

        if (query.From is { } from)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND created_at >= {Next(from)}");
        }

        if (query.To is { } to)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND created_at < {Next(to)}");
        }

        if (query.BeforeSeq is { } before)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND seq < {Next(before)}");
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY seq DESC LIMIT {Next(query.PageSize + 1)}");
        return await PageAsync(tenantId, sql.ToString(), parameters, query.PageSize);
    }

    /// <summary>The tenant's admins (and super-admins) read its audit log; the signed caller says who calls, never an argument.</summary>
    private static bool IsAuditReader(Guid tenantId) =>
        Caller.Current is { } caller && (caller.IsSuperAdmin || caller.Role == Roles.TenantAdmin && caller.TenantId == tenantId);

    public async Task<AuditPage> TimelineAsync(Guid customerId, int pageSize, long? beforeSeq)
    {
        var tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        pageSize = Math.Clamp(pageSize, 1, 200);
        // Through audit_logs_target_idx, one target at a time: the customer's id, its contacts' and deals' ids, and the
        // activities about it, its contacts or its deals.
        var sql = $"""
            SELECT {Columns} FROM audit_logs
            WHERE tenant_id = $1 AND target_id = ANY(ARRAY[$2::text] || ARRAY(SELECT id::text FROM contacts WHERE customer_id = $3)
                || ARRAY(SELECT id::text FROM deals WHERE customer_id = $3)
                || ARRAY(SELECT id::text FROM activities WHERE {Activities.ActivityGrain.AboutCustomer("$3")}))
            {(beforeSeq is null ? "" : "AND seq < $5")}
            ORDER BY seq DESC LIMIT $4
            """;
        List<object> parameters = [tenantId, customerId.ToString("D"), customerId, pageSize + 1];
        if (beforeSeq is { } before)
        {
            parameters.Add(before);
        }

        var page = await PageAsync(tenantId, sql, parameters, pageSize);
        // A timeline is the team's; the addresses and user agents stay in the admins' audit log.
        return IsAuditReader(tenantId) ? page : page with { Items = page.Items.Select(e => e with { Ip = null, UserAgent = null }).ToList() };
    }

    private async Task<AuditPage> PageAsync(Guid tenantId, string sql, List<object> parameters, int pageSize)
    {
        var items = new List<AuditEntry>(pageSize + 1);
        await using var transaction = await database.BeginAsync(tenantId);
        await using var command = transaction.Command(sql, [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(Read(reader));
        }

        if (items.Count <= pageSize)
        {
            return new AuditPage(items, null);
        }

        items.RemoveAt(items.Count - 1);
        return new AuditPage(items, items[^1].Seq);
    }

    internal static AuditEntry Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.GetGuid(1),
        r.GetInt64(2),
        r.GetFieldValue<DateTimeOffset>(3),
        new AuditActor(r.IsDBNull(4) ? null : r.GetGuid(4), r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)),
        r.GetString(7),
        r.IsDBNull(8) ? null : r.GetString(8),
        r.IsDBNull(9) ? null : r.GetString(9),
        r.GetString(10),
        r.IsDBNull(11) ? null : r.GetString(11),
        r.IsDBNull(12) ? null : r.GetString(12),
        r.IsDBNull(13) ? null : r.GetString(13),
        r.IsDBNull(14) ? null : r.GetString(14),
        r.GetFieldValue<byte[]>(15),
        r.GetFieldValue<byte[]>(16));
}
