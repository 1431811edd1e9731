using Npgsql;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;

namespace Shohayota.Grains.Audit;

/// <summary>
/// Anchors: the heads (seq, hash) of every chain, recorded daily and by every backup in <c>audit_anchors</c>, which the
/// runtime role can read but not change. A chain rewritten after an anchor (even by someone who recomputed every hash) no
/// longer matches it.
/// </summary>
public static class AuditAnchors
{
    /// <summary>Records the current head of every chain; the database reads the heads itself. Returns the anchors written.</summary>
    public static async Task<long> AnchorAsync(NpgsqlDataSource dataSource, string reason)
    {
        await using var anchor = dataSource.CreateCommand("SELECT audit_anchor_heads($1)");
        anchor.Parameters.Add(new NpgsqlParameter { Value = reason });
        return (long)(await anchor.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Compares the tenant's anchors with its chain, in the verifying transaction. Anchors below the pruning checkpoint name
    /// entries that are gone by design and are not checked; the checkpoint's own seq is compared with the checkpoint.
    /// </summary>
    public static async Task<AuditVerification> CheckAsync(TenantTransaction transaction, Guid tenantId, AuditVerification chain)
    {
        await using var read = transaction.Command(
            """
            SELECT count(*), count(*) FILTER (WHERE x.matched), max(x.anchored_at), min(x.seq) FILTER (WHERE NOT x.matched)
            FROM (
                SELECT a.seq, a.anchored_at,
                       coalesce((SELECT l.hash = a.hash FROM audit_logs l WHERE l.tenant_id = a.tenant_id AND l.seq = a.seq),
                                (SELECT c.hash = a.hash FROM audit_checkpoints c WHERE c.tenant_id = a.tenant_id AND c.seq = a.seq),
                                false) AS matched
                FROM audit_anchors a
                WHERE a.tenant_id = $1 AND a.seq >= coalesce((SELECT c.seq FROM audit_checkpoints c WHERE c.tenant_id = $1), 0)
            ) x
            """,
            tenantId);
        await using var reader = await read.ExecuteReaderAsync();
        await reader.ReadAsync();
        var check = new AuditAnchorCheck(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
        var mismatch = reader.IsDBNull(3) ? (long?)null : reader.GetInt64(3);
        if (mismatch is not { } seq || !chain.Valid)
        {
            return chain with { Anchors = check };
        }

        return chain with
        {
            Valid = false,
            HeadHash = null,
            BrokenAtSeq = seq,
            Problem = $"entry {seq} is gone or differs from its anchored hash: the chain was rewritten after it was anchored",
            Anchors = check,
        };
    }
}
