using System.Diagnostics;
using Shohayota.Api.Auth;
using Shohayota.Silo.Hosting;

namespace Shohayota.Api.Diagnostics;

/// <summary>
/// Benchmark-only (bench S10, cost per tenant): a full, compacting garbage collection, then this node's memory and the
/// cluster's activations by grain type. Mapped only in the <c>Benchmark</c> host environment: a forced collection pauses
/// the whole node, which no production route may do on request.
/// </summary>
public static class BenchmarkMemoryApi
{
    public static WebApplication MapBenchmarkMemoryApi(this WebApplication app)
    {
        if (app.Environment.IsEnvironment(StartupChecks.BenchmarkEnvironment))
        {
            app.MapGroup("/api/admin/benchmark").WithTags("Benchmark only").RequireAdmission(AuthExtensions.SuperAdminPolicy)
                .MapPost("/memory", MeasureAsync).ExcludeFromDescription();
        }

        return app;
    }

    private static async Task<IResult> MeasureAsync(IGrainFactory grains)
    {
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
        });
    }
}
