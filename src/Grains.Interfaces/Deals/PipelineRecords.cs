using Orleans.Concurrency;
using Shohayota.Grains.Interfaces.Common;

namespace Shohayota.Grains.Interfaces.Deals;

/// <summary>One column of the pipeline: open, won or lost, with the probability a deal in it closes won.</summary>
[GenerateSerializer, Immutable, Alias("PipelineStage")]
public sealed record PipelineStage(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Kind,
    [property: Id(3)] int Probability);

/// <summary>A stage as a tenant admin sends it: no id for a new one.</summary>
[GenerateSerializer, Immutable, Alias("PipelineStageInput")]
public sealed record PipelineStageInput(
    [property: Id(0)] Guid? Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Kind,
    [property: Id(3)] int Probability);

/// <summary>The sum of one stage's deals in one currency.</summary>
[GenerateSerializer, Immutable, Alias("StageTotal")]
public sealed record StageTotal(
    [property: Id(0)] string Currency,
    [property: Id(1)] decimal Amount);

/// <summary>A stage with the count of the deals in it and their sum per currency.</summary>
[GenerateSerializer, Immutable, Alias("StageSummary")]
public sealed record StageSummary(
    [property: Id(0)] PipelineStage Stage,
    [property: Id(1)] int Count,
    [property: Id(2)] IReadOnlyList<StageTotal> Totals);

/// <summary>The result of replacing the stages: the new list and how many deals moved out of removed stages.</summary>
[GenerateSerializer, Immutable, Alias("PipelineChange")]
public sealed record PipelineChange(
    [property: Id(0)] IReadOnlyList<PipelineStage> Stages,
    [property: Id(1)] int MovedDeals);

/// <summary>One tenant's pipeline (<see cref="GrainKeys.Pipeline"/>): the single writer of its stages.</summary>
[Alias("IPipelineGrain")]
public interface IPipelineGrain : IGrainWithStringKey
{
    /// <summary>The ordered stages; a tenant that has none yet gets the default ones (Lead … Won, Lost).</summary>
    [Alias("Stages"), ReadOnly]
    Task<IReadOnlyList<PipelineStage>> StagesAsync();

    /// <summary>
    /// The stages with their deals' counts and sums per currency: read from the table, and kept until a deal changes
    /// (<see cref="DealsChangedAsync"/>) or for at most a few seconds.
    /// </summary>
    [Alias("Summary"), ReadOnly]
    Task<IReadOnlyList<StageSummary>> SummaryAsync();

    /// <summary>A deal of the tenant was created, changed, moved or removed: the next summary is read again.</summary>
    [Alias("DealsChanged"), ReadOnly]
    Task DealsChangedAsync();

    /// <summary>
    /// Replaces the ordered list (tenant admins only, checked here too). A removed stage that still holds deals is
    /// refused with the count unless <paramref name="moveTo"/> names a stage that stays, where they move (one
    /// <c>deal.stage_changed</c> each); a stage's kind changes only while it holds no deals.
    /// </summary>
    [Alias("Replace")]
    Task<Outcome<PipelineChange>> ReplaceAsync(IReadOnlyList<PipelineStageInput> stages, Guid? moveTo);

    /// <summary>Drops the activation (a restore or purge replaced the stages).</summary>
    [Alias("Forget")]
    Task ForgetAsync();
}
