using System.Diagnostics;
using System.Runtime;
using Shohayota.Api.Auth;
using Shohayota.Api.Errors;
using Shohayota.Silo.Hosting;

namespace Shohayota.Api.Diagnostics;

/// <summary>
/// Benchmark-only routes, mapped only in the <c>Benchmark</c> host environment, for super-admins: a full, compacting
/// garbage collection, then this node's memory and the cluster's activations by grain type (bench S10, cost per tenant; a
/// forced collection pauses the whole node, which no production route may do on request); and admission enforcement off
/// or on (bench S5).
/// </summary>
public static class BenchmarkApi
{
    public static WebApplication MapBenchmarkApi(this WebApplication app)
    {
        if (app.Environment.IsEnvironment(StartupChecks.BenchmarkEnvironment))
        {
            var group = app.MapGroup("/api/admin/benchmark").WithTags("Benchmark only").RequireAdmission(AuthExtensions.SuperAdminPolicy);
            group.MapPost("/memory", MeasureAsync).ExcludeFromDescription();
            group.MapPut("/admission", SwitchAdmission).ExcludeFromDescription();
        }

        return app;
    }

    /// <summary>
    /// Bench S5: admission enforcement off or on in this process (<c>{"enforce": false}</c>), so S5 and its baselines
    /// (S5e before, S5e2 after) run in one process: two starts of the Api differed by up to 15 % in CPU per request on
    /// their own, more than what is measured.
    /// </summary>
    private static IResult SwitchAdmission(AdmissionSwitch? body, AdmissionCache cache)
    {
        if (body?.Enforce is not { } enforce)
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["enforce"] = ["Required: true or false."] });
        }

        cache.SwitchEnforcement(enforce);
        return TypedResults.Ok(new { enforce });
    }

    public sealed record AdmissionSwitch(bool? Enforce);

    private static async Task<IResult> MeasureAsync(IGrainFactory grains)
    {
        // What the collector did since the process started, read before this route's own collections: the bench subtracts
        // one reading's after-figures from the next one's before-figures to get a pass's collections and pauses.
        var pausedBefore = GC.GetTotalPauseDuration();
        var collectionsBefore = Collections();
        var jitted = JitInfo.GetCompiledMethodCount();
        var jitTime = JitInfo.GetCompilationTime();

        // Twice, with the finalizers in between: what a finalizer releases is garbage only for the second collection.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var heap = GC.GetTotalMemory(forceFullCollection: false);
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        using var process = Process.GetCurrentProcess();
        var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        var byType = statistics.GroupBy(s => s.GrainType, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount), StringComparer.Ordinal);
        return TypedResults.Ok(new
        {
            workingSetBytes = process.WorkingSet64,
            gcHeapBytes = heap,
            gcCommittedBytes = info.TotalCommittedBytes,
            activations = byType.Values.Sum(),
            activationsByType = byType,
            gcPauseMsBefore = pausedBefore.TotalMilliseconds,
            gcPauseMsAfter = GC.GetTotalPauseDuration().TotalMilliseconds,
            gcCollectionsBefore = collectionsBefore,
            gcCollectionsAfter = Collections(),
            jitMethods = jitted,
            jitMs = jitTime.TotalMilliseconds,
        });

        static int[] Collections() => [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
    }
}
