using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Concurrency;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Quotas;
using Shohayota.Grains.Interfaces.Tenants;
using Shohayota.Grains.Security;

namespace Shohayota.Grains.Audit;

/// <summary>
/// The single writer of one tenant's audit chain. A change and its entries commit in one transaction; concurrent
/// requests queue up while a batch commits and go together in the next one (group commit); one refused change (a
/// constraint violation) does not undo the others. The log also carries the batch's quota: one call to the TenantGrain
/// per batch settles the previous batch and reserves this one's growth (a change the quota refuses is left out).
/// </summary>
// Reentrant: calls must queue up while a batch is committing, that is the point of group commit.
[Reentrant, GrainType("audit-log")]
public sealed class AuditLogGrain(
    TenantDatabase database,
    TimeProvider time,
    AuditWriterHealth health,
    CallerSigner signer,
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

    Task<ChangeResult> IAuditWriterGrain.ExecuteAsync(AuditedChange change) => EnqueueAsync(change.Statements, change.Entries, change.Quota);

    Task<ChangeResult> IAuditWriterGrain.ExecuteLargeAsync(AuditedChange change) => EnqueueAsync(change.Statements, change.Entries, change.Quota);

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

    private async Task<ChangeResult> EnqueueAsync(IReadOnlyList<SqlStatement> statements, IReadOnlyList<AuditDraft> drafts, QuotaDelta? quota = null)
    {
        var caller = Caller.Current;
        var (ip, userAgent, requestId) = Caller.Origin;
        if (caller?.SupportSession is { } session)
        {
            drafts = drafts.Select(d => d with { Details = AuditChain.WithSupport(d.Details, session, caller.SupportBy) }).ToList();
        }

        var pending = new Pending(
            statements, drafts, quota,
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
        List<Pending> done = [];
        List<Pending> batch = [];
        try
        {
            do
            {
                batch = _queue.Take(MaxBatch).ToList();
                _queue.RemoveRange(0, batch.Count);
                // The previous batch's callers are answered once its quota is settled: a usage report after the answer counts it.
                batch = await SettleAndReserveAsync(done, batch);
                done = [];
                if (batch.Count > 0)
                {
                    await FlushAsync(batch);
                }

                done = batch;
                batch = [];
            }
            while (done.Count > 0 || _queue.Count > 0);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Audit writer of tenant {TenantId} failed between batches", _tenantId);
            foreach (var item in done.Concat(batch))
            {
                item.Fail(e);
                item.Answer();
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    /// <summary>
    /// One call to the TenantGrain (none if there is nothing to settle or reserve): the finished batch's reservations are
    /// settled (committed, or given back), its committed shrinkage applied, and room reserved for the growth of the next
    /// batch. Answers the finished batch's callers, and the next batch's changes the quota refused; returns the rest.
    /// </summary>
    private async Task<List<Pending>> SettleAndReserveAsync(List<Pending> done, List<Pending> next)
    {
        var settlement = Settlement(done);
        var growing = next.Where(p => p.Grows).ToList();
        if (!settlement.IsEmpty || growing.Count > 0)
        {
            try
            {
                // As the system: whichever request started this drain, its caller has nothing to do with the others' quota.
                signer.EnterSystem();
                var answers = await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(_tenantId))
                    .SettleAndReserveAsync(settlement, [.. growing.Select(p => p.Quota!)]);
                for (var i = 0; i < growing.Count; i++)
                {
                    if (answers[i].Granted)
                    {
                        growing[i].Held = answers[i];
                    }
                    else
                    {
                        growing[i].Result = new ChangeResult(false, null, null, [], answers[i]);
                    }
                }
            }
            catch (Exception e)
            {
                // Committed changes stay committed; their counts are missing until the TenantGrain re-derives them from the rows
                // (next activation), and reservations it still holds expire by themselves. The growing changes did not run.
                logger.LogError(e, "Could not settle and reserve quota for the audit batch of tenant {TenantId}", _tenantId);
                foreach (var item in growing)
                {
                    item.Fail(e);
                }
            }
        }

        foreach (var item in done)
        {
            item.Answer();
        }

        var refused = growing.Where(p => p.Held is null).ToList();
        health.Withdrawn(refused.Sum(p => p.Drafts.Count));
        foreach (var item in refused)
        {
            item.Answer();
        }

        return refused.Count == 0 ? next : [.. next.Where(p => !p.Grows || p.Held is not null)];
    }

    private static QuotaSettlement Settlement(List<Pending> done)
    {
        if (done.Count == 0)
        {
            return QuotaSettlement.None;
        }

        List<Guid> committed = [];
        List<Guid> released = [];
        var (customers, users, bytes) = (0L, 0L, 0L);
        foreach (var item in done)
        {
            var stood = item.Result is { Committed: true };
            if (item.Held is { } held)
            {
                (stood ? committed : released).Add(held.Id);
            }
            else if (stood && item.Quota is { } shrink)
            {
                (customers, users, bytes) = (customers + shrink.Customers, users + shrink.Users, bytes + shrink.StorageBytes);
            }
        }

        return new QuotaSettlement(committed, released, new QuotaDelta(customers, users, bytes));
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
            item.Fail(refused);
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
            // As a rule the whole batch goes in one round trip, the tenant setting first, and a commit: no savepoint. If the
            // database refuses one of its changes (a constraint, bad data), that transaction is rolled back and the batch goes
            // again in a new one, change by change, each in a savepoint of its own: only the refused change is left out, and
            // the chain continues from the last change that stood.
            var atOnce = false;
            await using (var connection = await database.DataSource.OpenConnectionAsync())
            await using (var transaction = await connection.BeginTransactionAsync())
            await using (var commands = new NpgsqlBatch(connection, transaction))
            {
                commands.BatchCommands.Add(TenantDatabase.Statement("SELECT set_config('app.tenant_id', $1, true)", [_tenantId.ToString("D")]));
                var chained = new List<List<AuditEntry>>(batch.Count);
                var (runSeq, runHead) = (seq, head);
                foreach (var item in batch)
                {
                    var link = Chain(item, runSeq, runHead);
                    (runSeq, runHead) = (link.Seq, link.Head);
                    chained.Add(link.Entries);
                    AddChange(commands, item, link.Entries);
                }

                try
                {
                    await commands.ExecuteNonQueryAsync();
                    atOnce = true;
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "audit_logs_pkey")
                {
                    throw new ChainMovedException();
                }
                catch (PostgresException e) when (IsRefusal(e))
                {
                }

                if (atOnce)
                {
                    await transaction.CommitAsync();
                    for (var i = 0; i < batch.Count; i++)
                    {
                        results[i] = new ChangeResult(true, null, null, chained[i]);
                    }

                    (seq, head) = (runSeq, runHead);
                }
            }

            if (!atOnce)
            {
                await using var transaction = await database.BeginAsync(_tenantId);
                for (var i = 0; i < batch.Count; i++)
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
        }
        catch (Exception e) when (e is not ChainMovedException)
        {
            health.Failed(entries, time.GetUtcNow());
            logger.LogError(e, "Audit batch of {Count} changes for tenant {TenantId} failed; nothing of it was committed", batch.Count, _tenantId);
            foreach (var item in batch)
            {
                item.Fail(e);
            }

            return;
        }

        _seq = seq;
        _head = head;
        health.Succeeded(entries, time.GetUtcNow());
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Result = results[i];
        }
    }

    /// <summary>
    /// Benchmark-only (<see cref="BenchmarkOptions.AuditOff"/>, bench S8): a change's statements in a transaction of their
    /// own, with the same refusals and quota as <see cref="ExecuteAsync"/> but no entry, hash chain or group commit (the
    /// growth reserved and settled one change at a time). Never in production.
    /// </summary>
    internal static async Task<ChangeResult> ExecuteUnauditedAsync(TenantDatabase database, IGrainFactory grains, CallerSigner signer, Guid tenantId, AuditedChange change)
    {
        // The quota calls as the system, like the audit log's own (this async flow only: the caller's context stays outside).
        signer.EnterSystem();
        var tenant = grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
        var grows = change.Quota is { } q && (q.Customers > 0 || q.Users > 0 || q.StorageBytes > 0);
        var reservation = grows ? await tenant.ReserveAsync(change.Quota!) : null;
        if (reservation is { Granted: false })
        {
            return new ChangeResult(false, null, null, [], reservation);
        }

        ChangeResult result;
        try
        {
            result = await ExecuteUnauditedAsync(database, tenantId, change.Statements);
        }
        catch
        {
            if (reservation is not null)
            {
                await tenant.SettleAsync(reservation.Id, committed: false);
            }

            throw;
        }

        if (reservation is not null)
        {
            await tenant.SettleAsync(reservation.Id, result.Committed);
        }
        else if (result.Committed && change.Quota is { } shrink)
        {
            await tenant.AdjustAsync(shrink);
        }

        return result;
    }

    private static async Task<ChangeResult> ExecuteUnauditedAsync(TenantDatabase database, Guid tenantId, IReadOnlyList<SqlStatement> statements)
    {
        await using var transaction = await database.BeginAsync(tenantId);
        await using var commands = new NpgsqlBatch(transaction.Connection);
        foreach (var statement in statements)
        {
            commands.BatchCommands.Add(TenantDatabase.Statement(statement.Sql, statement.Parameters));
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
            commands.BatchCommands.Add(TenantDatabase.Statement(statement.Sql, statement.Parameters));
        }

        foreach (var e in entries)
        {
            commands.BatchCommands.Add(TenantDatabase.Statement(InsertEntry,
            [
                e.TenantId, e.Seq, e.Id, e.At, e.Actor.Id, e.Actor.Email, e.Actor.Role, e.Action, e.TargetType, e.TargetId,
                e.Outcome, e.Ip, e.UserAgent, e.RequestId, e.Details, e.PrevHash, e.Hash,
            ]));
        }
    }

    // Refusals of one change (constraints, RLS, bad data) roll back to its savepoint; outages fail the batch.
    // What one change's data can cause: a constraint (23), bad data (22), a privilege, or a limit its values exceed (54:
    // an index row too large, say). It is left out alone; anything else fails the batch.
    private static bool IsRefusal(PostgresException e) =>
        e.SqlState.StartsWith("23", StringComparison.Ordinal) || e.SqlState.StartsWith("22", StringComparison.Ordinal) ||
        e.SqlState.StartsWith("54", StringComparison.Ordinal) || e.SqlState == PostgresErrorCodes.InsufficientPrivilege;

    private sealed class ChainMovedException : Exception;

    private sealed class Pending(
        IReadOnlyList<SqlStatement> statements, IReadOnlyList<AuditDraft> drafts, QuotaDelta? quota, AuditActor actor, string? ip,
        string? userAgent, string? requestId)
    {
        public IReadOnlyList<SqlStatement> Statements => statements;

        public IReadOnlyList<AuditDraft> Drafts => drafts;

        public QuotaDelta? Quota => quota;

        public AuditActor Actor => actor;

        public string? Ip => ip;

        public string? UserAgent => userAgent;

        public string? RequestId => requestId;

        /// <summary>Growth is reserved before the change runs; shrinkage is applied after it commits.</summary>
        public bool Grows => quota is { } q && (q.Customers > 0 || q.Users > 0 || q.StorageBytes > 0);

        public Reservation? Held { get; set; }

        public ChangeResult? Result { get; set; }

        private Exception? Error { get; set; }

        public TaskCompletionSource<ChangeResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Nothing of the change was written (a result it already has, a commit, stands).</summary>
        public void Fail(Exception error)
        {
            if (Result is null)
            {
                Error ??= error;
            }
        }

        public void Answer()
        {
            if (Result is not null)
            {
                Completion.TrySetResult(Result);
            }
            else
            {
                Completion.TrySetException(Error ?? new InvalidOperationException("The audit batch ended without an outcome for this change."));
            }
        }
    }
}
