using System.Globalization;
using Orleans.Concurrency;
using Orleans.Serialization.Invocation;
using Shohayota.Grains.Audit;
using Shohayota.Grains.Database;
using Shohayota.Grains.Interfaces.Audit;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Grains.Deals;

/// <summary>
/// One tenant's pipeline: the single writer of its stages (read on first need; a tenant without any gets the default
/// ones, with ids derived from the tenant so two nodes creating them agree, and one <c>pipeline.created</c> entry). A replacement is one transaction through
/// the tenant's audit writer: the stages, the deals moved out of removed stages (at the versions read, one
/// <c>deal.stage_changed</c> each) and the <c>pipeline.updated</c> entry.
/// </summary>
[GrainType("pipeline")]
// StagesAsync interleaves: a replacement waits for deal grains to forget, which may be waiting for StagesAsync (deadlock).
[MayInterleave(nameof(MayInterleave))]
public sealed class PipelineGrain(TenantDatabase database, TimeProvider time) : Grain, IPipelineGrain
{
    /// <summary>What refuses a replacement when a deal it moves changed after it was read.</summary>
    private const string MovedChanged = "pipeline_moved";

    /// <summary>What refuses creating the default stages when the tenant has stages already (created meanwhile).</summary>
    private const string DefaultsExisted = "pipeline_defaults_existed";

    /// <summary>How long a summary is served without a change notice: a backstop for a notice lost with a failed node.</summary>
    private static readonly TimeSpan SummaryMaxAge = TimeSpan.FromSeconds(10);

    private IReadOnlyList<PipelineStage>? _stages;
    private IReadOnlyList<StageSummary>? _summary;
    private DateTimeOffset _summaryAt;
    private long _generation;
    private Task<IReadOnlyList<PipelineStage>>? _loading;

    private Guid TenantId => GrainKeys.TenantOf(this.GetPrimaryKeyString())!.Value;

    /// <summary>Reading the stages never waits for a replacement (it answers the list as it stands, which the database keeps honest).</summary>
    /// <remarks>A deal's change notice interleaves too: the deal that sends it may be one a replacement waits for.</remarks>
    public static bool MayInterleave(IInvokable request) => request.GetMethodName() is nameof(StagesAsync) or nameof(DealsChangedAsync) or nameof(SummaryAsync);

    public async Task<IReadOnlyList<PipelineStage>> StagesAsync()
    {
        if (_stages is { } stages)
        {
            return stages;
        }

        // Interleaved reads of a cold grain wait for one load.
        var loading = _loading ??= LoadAsync();
        try
        {
            return _stages = await loading;
        }
        finally
        {
            if (ReferenceEquals(_loading, loading))
            {
                _loading = null;
            }
        }
    }

    private async Task<IReadOnlyList<PipelineStage>> LoadAsync()
    {
        var stages = await ReadStagesAsync();
        if (stages.Count > 0)
        {
            return stages;
        }

        // The defaults, created once and audited once (pipeline.created): fixed ids per tenant, so a creation that ran
        // meanwhile (another activation, a restore) inserted the same rows; one that inserts nothing is refused with its
        // entry (DefaultsExisted) and reads what is there.
        var defaults = DealRules.DefaultStages
            .Select((s, i) => new PipelineStage(DefaultStageId(TenantId, i), s.Name, s.Kind, s.Probability))
            .ToArray();
        var result = await GrainFactory.AuditLog(TenantId).ExecuteAsync(AuditExtensions.Change(
            [
                AuditExtensions.Sql(
                    $"""
                    WITH inserted AS (
                        INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability)
                        SELECT $1, s.id, s.position, s.name, s.kind, s.probability
                        FROM unnest($2::uuid[], $3::integer[], $4::text[], $5::text[], $6::integer[]) AS s(id, position, name, kind, probability)
                        WHERE NOT EXISTS (SELECT 1 FROM pipeline_stages WHERE tenant_id = $1)
                        ON CONFLICT (tenant_id, id) DO NOTHING
                        RETURNING 1)
                    SELECT expect_rows_changed(CASE WHEN (SELECT count(*) FROM inserted) > 0 THEN 1 ELSE 0 END, '{DefaultsExisted}')
                    """,
                    TenantId, defaults.Select(s => s.Id).ToArray(), defaults.Select((_, i) => i).ToArray(), defaults.Select(s => s.Name).ToArray(),
                    defaults.Select(s => s.Kind).ToArray(), defaults.Select(s => s.Probability).ToArray()),
            ],
            [
                new AuditDraft("pipeline.created", "pipeline", TenantId.ToString("D"), Details: AuditChain.Details(new
                {
                    stages = defaults.Select(s => new { id = s.Id, name = s.Name, kind = s.Kind, probability = s.Probability }),
                    defaults = true,
                })),
            ]));
        if (!result.Committed && result.Constraint != DefaultsExisted)
        {
            throw new InvalidOperationException($"Creating the default pipeline was refused by the database ({result.SqlState}).");
        }

        return await ReadStagesAsync();
    }

    /// <summary>The id of a tenant's default stage <paramref name="index"/>, the same on every node.</summary>
    public static Guid DefaultStageId(Guid tenantId, int index) =>
        RecordIds.ForIdempotencyKey("pipeline-stage", tenantId, Guid.Empty, index.ToString(CultureInfo.InvariantCulture));

    private Task<IReadOnlyList<PipelineStage>> ReadStagesAsync() => database.ReadAsync(
        TenantId,
        TenantDatabase.Statement("SELECT id, name, kind, probability FROM pipeline_stages ORDER BY position, id"),
        async reader =>
        {
            var stages = new List<PipelineStage>();
            while (await reader.ReadAsync())
            {
                stages.Add(new PipelineStage(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3)));
            }

            return (IReadOnlyList<PipelineStage>)stages;
        });

    public async Task<IReadOnlyList<StageSummary>> SummaryAsync()
    {
        if (_summary is { } cached && time.GetUtcNow() - _summaryAt < SummaryMaxAge)
        {
            return cached;
        }

        var generation = _generation;
        var stages = await StagesAsync();
        // From deals_stage_idx (tenant, stage, currency, amount): one group per stage and currency.
        var totals = await database.ReadAsync(
            TenantId,
            TenantDatabase.Statement(
                "SELECT stage_id, currency, count(*)::integer, sum(amount) FROM deals WHERE tenant_id = $1 GROUP BY stage_id, currency ORDER BY stage_id, currency",
                TenantId),
            async reader =>
            {
                var rows = new Dictionary<Guid, (int Count, List<StageTotal> Totals)>();
                while (await reader.ReadAsync())
                {
                    var stage = reader.GetGuid(0);
                    var (count, sums) = rows.TryGetValue(stage, out var row) ? row : (0, new List<StageTotal>());
                    sums.Add(new StageTotal(reader.GetString(1), reader.GetDecimal(3)));
                    rows[stage] = (count + reader.GetInt32(2), sums);
                }

                return rows;
            });
        var summary = stages.Select(s => totals.TryGetValue(s.Id, out var t) ? new StageSummary(s, t.Count, t.Totals) : new StageSummary(s, 0, []))
            .ToArray();
        if (generation == _generation && ReferenceEquals(stages, _stages))
        {
            // Kept only when no deal or stage changed while it was read: a change that committed meanwhile may be missing.
            (_summary, _summaryAt) = (summary, time.GetUtcNow());
        }

        return summary;
    }

    public Task DealsChangedAsync()
    {
        Invalidate();
        return Task.CompletedTask;
    }

    private void Invalidate()
    {
        _generation++;
        _summary = null;
    }

    public async Task<Outcome<PipelineChange>> ReplaceAsync(IReadOnlyList<PipelineStageInput> stages, Guid? moveTo)
    {
        // The grain's own rule, not only the route's: a tenant's admins shape the pipeline (a key of that role too), members do not.
        if (Caller.Current is not { } caller || !(caller.Role == Roles.TenantAdmin && caller.TenantId == TenantId || caller.IsSuperAdmin))
        {
            return Outcome<PipelineChange>.Fail(Failure.Forbidden, "Only the tenant's admins change the pipeline.");
        }

        if (DealRules.CheckStages(stages).FirstOrDefault() is { Key: { } field, Value: { } rule })
        {
            return Outcome<PipelineChange>.Fail(Failure.Validation, $"{field}: {rule}");
        }

        var current = await StagesAsync();
        var byId = current.ToDictionary(s => s.Id);
        for (var i = 0; i < stages.Count; i++)
        {
            if (stages[i].Id is { } id && !byId.ContainsKey(id))
            {
                return Outcome<PipelineChange>.Fail(Failure.Validation, $"stages[{i}].id: {id} is not a stage of this pipeline (leave the id out for a new stage).");
            }
        }

        var next = stages.Select(s => new PipelineStage(s.Id ?? Guid.NewGuid(), s.Name.Trim(), s.Kind, s.Probability)).ToArray();
        var kept = next.Select(s => s.Id).ToHashSet();
        var removed = current.Where(s => !kept.Contains(s.Id)).ToArray();
        if (moveTo is { } target && !current.Any(s => s.Id == target && kept.Contains(target)))
        {
            return Outcome<PipelineChange>.Fail(Failure.Validation, "moveTo: the stage the removed stages' deals move to must be one of the pipeline's stages that stays.");
        }

        // Only the deals the change concerns: those in stages it removes (they move) or whose kind it changes (refused).
        var rekinded = next.Where(s => byId.TryGetValue(s.Id, out var was) && was.Kind != s.Kind).Select(s => s.Id);
        var held = await DealsInAsync([.. removed.Select(s => s.Id), .. rekinded]);
        foreach (var stage in next)
        {
            if (byId.TryGetValue(stage.Id, out var was) && was.Kind != stage.Kind && held.Count(d => d.StageId == stage.Id) is var n and > 0)
            {
                return Outcome<PipelineChange>.Fail(Failure.Conflict,
                    $"Stage '{was.Name}' holds {Deals(n)}; move them to another stage before changing its kind.");
            }
        }

        var moving = held.Where(d => removed.Any(s => s.Id == d.StageId)).ToArray();
        if (moving.Length > 0 && moveTo is null)
        {
            var names = string.Join(", ", removed.Where(s => moving.Any(d => d.StageId == s.Id))
                .Select(s => $"'{s.Name}' ({Deals(moving.Count(d => d.StageId == s.Id))})"));
            return Outcome<PipelineChange>.Fail(Failure.Conflict,
                $"Removed stages still hold {Deals(moving.Length)}: {names}. Send moveTo (a stage that stays) to move them there.");
        }

        var now = time.GetUtcNow();
        var into = moveTo is { } to ? next.First(s => s.Id == to) : null;
        var statements = new List<SqlStatement>
        {
            AuditExtensions.Sql(
                """
                INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability)
                SELECT $1, s.id, s.position, s.name, s.kind, s.probability
                FROM unnest($2::uuid[], $3::integer[], $4::text[], $5::text[], $6::integer[]) AS s(id, position, name, kind, probability)
                ON CONFLICT (tenant_id, id) DO UPDATE SET position = excluded.position, name = excluded.name, kind = excluded.kind,
                    probability = excluded.probability
                """,
                TenantId, next.Select(s => s.Id).ToArray(), next.Select((_, i) => i).ToArray(), next.Select(s => s.Name).ToArray(),
                next.Select(s => s.Kind).ToArray(), next.Select(s => s.Probability).ToArray()),
        };
        var entries = new List<AuditDraft>();
        if (moving.Length > 0 && into is not null)
        {
            // Exactly the deals read, at the versions read: one changed meanwhile refuses the whole replacement.
            statements.Add(AuditExtensions.Sql(
                $"""
                WITH moved AS (
                    UPDATE deals d SET stage_id = $4, status = $5,
                        closed_at = CASE WHEN $5 = 'open' THEN NULL WHEN d.status = $5 THEN d.closed_at ELSE $6 END,
                        updated_at = $6, version = d.version + 1
                    FROM unnest($2::uuid[], $3::integer[]) AS r(id, version)
                    WHERE d.tenant_id = $1 AND d.id = r.id AND d.version = r.version
                    RETURNING 1)
                SELECT expect_rows_changed(CASE WHEN (SELECT count(*) FROM moved) = $7 THEN 1 ELSE 0 END, '{MovedChanged}')
                """,
                TenantId, moving.Select(d => d.Id).ToArray(), moving.Select(d => d.Version).ToArray(), into.Id, into.Kind, now, (long)moving.Length));
            entries.AddRange(moving.Select(d => new AuditDraft("deal.stage_changed", DealGrain.Record.Name, d.Id.ToString("D"),
                Details: AuditChain.Details(new { version = d.Version + 1, from = d.StageId, to = into.Id, fromStatus = d.Status, toStatus = into.Kind, pipeline = true }))));
        }

        if (removed.Length > 0)
        {
            statements.Add(AuditExtensions.Sql("DELETE FROM pipeline_stages WHERE tenant_id = $1 AND id = ANY($2::uuid[])", TenantId, removed.Select(s => s.Id).ToArray()));
        }

        entries.Add(new AuditDraft("pipeline.updated", "pipeline", TenantId.ToString("D"), Details: AuditChain.Details(new
        {
            stages = next.Select(s => new { id = s.Id, name = s.Name, kind = s.Kind, probability = s.Probability }),
            removed = removed.Select(s => new { id = s.Id, name = s.Name }),
            movedDeals = moving.Length,
            moveTo,
        })));

        var result = await GrainFactory.AuditLog(TenantId).ExecuteAsync(AuditExtensions.Change([.. statements], [.. entries]));
        if (!result.Committed)
        {
            if (result.Constraint is MovedChanged or DealGrain.StageForeignKey)
            {
                // A deal was created, moved or changed in these stages meanwhile: read again and let the admin retry.
                _stages = null;
                Invalidate();
                return Outcome<PipelineChange>.Fail(Failure.Conflict, "The deals in these stages changed meanwhile; reload the pipeline and try again.");
            }

            throw new InvalidOperationException($"Replacing the pipeline was refused by the database ({result.SqlState}).");
        }

        _stages = next;
        Invalidate();
        foreach (var chunk in moving.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(d => GrainFactory.GetGrain<IDealGrain>(GrainKeys.Deal(TenantId, d.Id)).ForgetAsync()));
        }

        return Outcome<PipelineChange>.Ok(new PipelineChange(next, moving.Length));
    }

    public Task ForgetAsync()
    {
        _stages = null;
        Invalidate();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private static string Deals(int n) => n == 1 ? "1 deal" : $"{n} deals";

    private sealed record HeldDeal(Guid Id, int Version, Guid StageId, string Status);

    private Task<List<HeldDeal>> DealsInAsync(Guid[] stages) => database.ReadAsync(
        TenantId,
        TenantDatabase.Statement("SELECT id, version, stage_id, status FROM deals WHERE stage_id = ANY($1::uuid[])", stages),
        async reader =>
        {
            var rows = new List<HeldDeal>();
            while (await reader.ReadAsync())
            {
                rows.Add(new HeldDeal(reader.GetGuid(0), reader.GetInt32(1), reader.GetGuid(2), reader.GetString(3)));
            }

            return rows;
        });
}
