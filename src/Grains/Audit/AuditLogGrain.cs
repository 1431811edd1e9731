using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Audit;

/// <summary>
/// The single writer of one tenant's audit chain. A change and its entries commit in one transaction; concurrent
/// requests queue up while a batch commits and go together in the next one (group commit), each inside a savepoint
/// so one refused change (a constraint violation) does not undo the others.
/// </summary>
// Reentrant: calls must queue up while a batch is committing, that is the point of group commit.
[Reentrant, GrainType("audit-log")]
public sealed class AuditLogGrain(
    TenantDatabase database,
    TimeProvider time,
    AuditWriterHealth health,
    ILogger<AuditLogGrain> logger) : Grain, IAuditWriterGrain
{
    private const int MaxBatch = 512;
    private const int MaxAttempts = 10;
    private const string InsertEntry = """
        INSERT INTO audit_logs (tenant_id, seq, id, created_at, actor_id, actor_email, actor_role, action, target_type, target_id,
                                outcome, ip, user_agent, request_id, details, prev_hash, hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
        """;

    private readonly List<Pending> _queue = [];
    private Guid _tenantId;
    private long _seq;
    private byte[] _head = AuditChain.Genesis;
    private bool _flushing;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenantId = GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;
        await LoadHeadAsync(cancellationToken);
    }

    private async Task LoadHeadAsync(CancellationToken cancellationToken = default)
    {
        await using var transaction = await database.BeginAsync(_tenantId, cancellationToken);
        await using var read = transaction.Command(
            """
            SELECT seq, hash FROM audit_logs WHERE tenant_id = $1
            UNION ALL SELECT seq, hash FROM audit_checkpoints WHERE tenant_id = $1
            ORDER BY seq DESC LIMIT 1
            """,
            _tenantId);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            _seq = reader.GetInt64(0);
            _head = reader.GetFieldValue<byte[]>(1);
        }
    }

    Task<ChangeResult> IAuditWriterGrain.ExecuteAsync(AuditedChange change) => EnqueueAsync(change.Statements, change.Entries);

    public async Task<IReadOnlyList<AuditEntry>> AppendAsync(IReadOnlyList<AuditDraft> entries) =>
        (await EnqueueAsync([], entries)).Entries;

    public async Task<AuditVerification> VerifyAsync()
    {
        await using var transaction = await database.BeginAsync(_tenantId);
        return await AuditAnchors.CheckAsync(transaction, _tenantId, await VerifyChainAsync(transaction));
    }

    private async Task<AuditVerification> VerifyChainAsync(TenantTransaction transaction)
    {
        long expected = 1;
        var previous = AuditChain.Genesis;
        await using (var checkpoint = transaction.Command("SELECT seq, hash FROM audit_checkpoints WHERE tenant_id = $1", _tenantId))
        await using (var reader = await checkpoint.ExecuteReaderAsync())
        {
            if (await reader.ReadAsync())
            {
                expected = reader.GetInt64(0) + 1;
                previous = reader.GetFieldValue<byte[]>(1);
            }
        }

        long count = 0;
        await using var read = transaction.Command(
            """
            SELECT id, tenant_id, seq, created_at, actor_id, actor_email, actor_role, action, target_type, target_id, outcome,
                   ip, user_agent, request_id, details, prev_hash, hash
            FROM audit_logs WHERE tenant_id = $1 ORDER BY seq
            """,
            _tenantId);
        await using var rows = await read.ExecuteReaderAsync();
        while (await rows.ReadAsync())
        {
            var entry = AuditQueryGrain.Read(rows);
            if (entry.Seq != expected)
            {
                return new AuditVerification(false, count, null, expected, $"entry {expected} is missing (found {entry.Seq} next)");
            }

            if (!entry.PrevHash.AsSpan().SequenceEqual(previous) || !AuditChain.Hash(entry, previous).AsSpan().SequenceEqual(entry.Hash))
            {
                return new AuditVerification(false, count, null, entry.Seq, $"entry {entry.Seq} does not match its hash");
            }

            previous = entry.Hash;
            expected++;
            count++;
        }

        return new AuditVerification(true, count, AuditChain.Hex(previous), null, null);
    }

    public async Task<long> PruneAsync(DateTimeOffset before)
    {
        await using var transaction = await database.BeginAsync(_tenantId);
        await using var prune = transaction.Command("SELECT audit_prune($1)", before);
        var pruned = (long)(await prune.ExecuteScalarAsync())!;
        await transaction.CommitAsync();
        return pruned;
    }

    public Task ForgetAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private async Task<ChangeResult> EnqueueAsync(IReadOnlyList<SqlStatement> statements, IReadOnlyList<AuditDraft> drafts)
    {
        var caller = Caller.Current;
        var (ip, userAgent, requestId) = Caller.Origin;
        var pending = new Pending(
            statements, drafts,
            new AuditActor(caller is null || caller.UserId == Guid.Empty ? null : caller.UserId, caller?.Email, caller?.Role ?? Roles.System),
            ip, userAgent, requestId);
        _queue.Add(pending);
        health.Queued(drafts.Count);
        if (!_flushing)
        {
            _ = DrainAsync();
        }

        return await pending.Completion.Task;
    }

    private async Task DrainAsync()
    {
        _flushing = true;
        try
        {
            while (_queue.Count > 0)
            {
                var batch = _queue.Take(MaxBatch).ToList();
                _queue.RemoveRange(0, batch.Count);
                await FlushAsync(batch);
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    private async Task FlushAsync(List<Pending> batch)
    {
        // Another writer of the same chain (a duplicate activation during a cluster change, or a second cluster on the
        // same database) took our next seq: reload the head and write the batch again; nothing of it was committed.
        Exception refused;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await FlushOnceAsync(batch);
                    return;
                }
                catch (ChainMovedException) when (attempt < MaxAttempts)
                {
                    logger.LogWarning("Audit chain of tenant {TenantId} moved under this writer; reloading its head (attempt {Attempt})", _tenantId, attempt);
                    // Two writers that retry in lockstep collide again: a random pause that grows with each attempt lets one
                    // of them through (at most about 1.4 s in all). Real time, not the injected clock: tests move that one.
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 25 * attempt)));
                    await LoadHeadAsync();
                }
            }
        }
        catch (ChainMovedException)
        {
            logger.LogError("Audit chain of tenant {TenantId} moved under this writer {Attempts} times in a row; a batch of {Count} changes is refused",
                _tenantId, MaxAttempts, batch.Count);
            refused = new AuditUnavailableException("The audit log is busy (its chain kept moving under the writer); nothing was committed, retry shortly.");
        }
        catch (Exception e)
        {
            // Reloading the head failed (the database is unavailable): the same outage the callers would meet themselves.
            logger.LogError(e, "Audit batch of {Count} changes for tenant {TenantId} failed; nothing of it was committed", batch.Count, _tenantId);
            refused = e;
        }

        // Never leave the batch's callers waiting for a timeout: they get an error (the API answers 503).
        health.Failed(batch.Sum(p => p.Drafts.Count), time.GetUtcNow());
        foreach (var item in batch)
        {
            item.Completion.TrySetException(refused);
        }
    }

    private async Task FlushOnceAsync(List<Pending> batch)
    {
        var entries = batch.Sum(p => p.Drafts.Count);
        var seq = _seq;
        var head = _head;
        var results = new ChangeResult[batch.Count];
        try
        {
            await using var transaction = await database.BeginAsync(_tenantId);
            // As a rule the whole batch goes in one round trip. If the database refuses one of its changes (a constraint,
            // bad data), that round trip is rolled back and the batch goes again change by change, each in a savepoint of
            // its own: only the refused change is left out, and the chain continues from the last change that stood.
            var atOnce = false;
            await using (var commands = new NpgsqlBatch(transaction.Connection))
            {
                commands.BatchCommands.Add(new NpgsqlBatchCommand("SAVEPOINT batch"));
                var chained = new List<(List<AuditEntry> Entries, long Seq, byte[] Head)>(batch.Count);
                var (runSeq, runHead) = (seq, head);
                foreach (var item in batch)
                {
                    var link = Chain(item, runSeq, runHead);
                    (runSeq, runHead) = (link.Seq, link.Head);
                    chained.Add(link);
                    AddChange(commands, item, link.Entries);
                }

                try
                {
                    await commands.ExecuteNonQueryAsync();
                    for (var i = 0; i < batch.Count; i++)
                    {
                        results[i] = new ChangeResult(true, null, null, chained[i].Entries);
                    }

                    (seq, head, atOnce) = (runSeq, runHead, true);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "audit_logs_pkey")
                {
                    throw new ChainMovedException();
                }
                catch (PostgresException e) when (IsRefusal(e))
                {
                    await transaction.ExecuteAsync("ROLLBACK TO SAVEPOINT batch");
                }
            }

            for (var i = 0; !atOnce && i < batch.Count; i++)
            {
                var link = Chain(batch[i], seq, head);
                await using var commands = new NpgsqlBatch(transaction.Connection);
                commands.BatchCommands.Add(new NpgsqlBatchCommand("SAVEPOINT change"));
                AddChange(commands, batch[i], link.Entries);
                commands.BatchCommands.Add(new NpgsqlBatchCommand("RELEASE SAVEPOINT change"));
                try
                {
                    await commands.ExecuteNonQueryAsync();
                    (seq, head) = (link.Seq, link.Head);
                    results[i] = new ChangeResult(true, null, null, link.Entries);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "audit_logs_pkey")
                {
                    throw new ChainMovedException();
                }
                catch (PostgresException e) when (IsRefusal(e))
                {
                    await transaction.ExecuteAsync("ROLLBACK TO SAVEPOINT change");
                    results[i] = new ChangeResult(false, e.SqlState, e.ConstraintName, []);
                }
            }

            await transaction.CommitAsync();
        }
        catch (Exception e) when (e is not ChainMovedException)
        {
            health.Failed(entries, time.GetUtcNow());
            logger.LogError(e, "Audit batch of {Count} changes for tenant {TenantId} failed; nothing of it was committed", batch.Count, _tenantId);
            foreach (var item in batch)
            {
                item.Completion.TrySetException(e);
            }

            return;
        }

        _seq = seq;
        _head = head;
        health.Succeeded(entries, time.GetUtcNow());
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Completion.TrySetResult(results[i]);
        }
    }

    /// <summary>
    /// Benchmark-only (<see cref="BenchmarkOptions.AuditOff"/>, bench S8): a change's statements in a transaction of their
    /// own, with the same refusals as <see cref="ExecuteAsync"/> but no entry, hash chain or group commit. Never in production.
    /// </summary>
    internal static async Task<ChangeResult> ExecuteUnauditedAsync(TenantDatabase database, Guid tenantId, IReadOnlyList<SqlStatement> statements)
    {
        await using var transaction = await database.BeginAsync(tenantId);
        await using var commands = new NpgsqlBatch(transaction.Connection);
        foreach (var statement in statements)
        {
            commands.BatchCommands.Add(Command(statement.Sql, statement.Parameters));
        }

        try
        {
            await commands.ExecuteNonQueryAsync();
        }
        catch (PostgresException e) when (IsRefusal(e))
        {
            return new ChangeResult(false, e.SqlState, e.ConstraintName, []);
        }

        await transaction.CommitAsync();
        return new ChangeResult(true, null, null, []);
    }

    /// <summary>A change's entries, chained after <paramref name="seq"/> and <paramref name="head"/>; the new seq and head.</summary>
    private (List<AuditEntry> Entries, long Seq, byte[] Head) Chain(Pending item, long seq, byte[] head)
    {
        var now = time.Now();
        var entries = new List<AuditEntry>(item.Drafts.Count);
        foreach (var draft in item.Drafts)
        {
            var entry = new AuditEntry(Guid.NewGuid(), _tenantId, ++seq, now, item.Actor, draft.Action, draft.TargetType, draft.TargetId,
                draft.Outcome, item.Ip, item.UserAgent, item.RequestId, draft.Details, head, []);
            entry = entry with { Hash = AuditChain.Hash(entry, head) };
            head = entry.Hash;
            entries.Add(entry);
        }

        return (entries, seq, head);
    }

    /// <summary>A change's own statements, then its entries.</summary>
    private static void AddChange(NpgsqlBatch commands, Pending item, List<AuditEntry> entries)
    {
        foreach (var statement in item.Statements)
        {
            commands.BatchCommands.Add(Command(statement.Sql, statement.Parameters));
        }

        foreach (var e in entries)
        {
            commands.BatchCommands.Add(Command(InsertEntry,
            [
                e.TenantId, e.Seq, e.Id, e.At, e.Actor.Id, e.Actor.Email, e.Actor.Role, e.Action, e.TargetType, e.TargetId,
                e.Outcome, e.Ip, e.UserAgent, e.RequestId, e.Details, e.PrevHash, e.Hash,
            ]));
        }
    }

    // Refusals of one change (constraints, RLS, bad data) roll back to its savepoint; outages fail the batch.
    private static bool IsRefusal(PostgresException e) =>
        e.SqlState.StartsWith("23", StringComparison.Ordinal) || e.SqlState.StartsWith("22", StringComparison.Ordinal) ||
        e.SqlState == PostgresErrorCodes.InsufficientPrivilege;

    private static NpgsqlBatchCommand Command(string sql, object?[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        return command;
    }

    private sealed class ChainMovedException : Exception;

    private sealed record Pending(
        IReadOnlyList<SqlStatement> Statements, IReadOnlyList<AuditDraft> Drafts, AuditActor Actor, string? Ip, string? UserAgent, string? RequestId)
    {
        public TaskCompletionSource<ChangeResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
