using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Metadata;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// Creates the contexts of stateless-worker grains (the query grains, the directories) without the execution context of
/// the call that first reached them. Orleans starts such a context's message loop with <c>Task.Run</c> from whichever
/// thread created it, and on this node that is the HTTP request whose call arrived first: the loop then kept that
/// request's async-local state (its <c>Activity</c>, logging scope, <c>HttpContext</c> and request services, and the
/// Orleans request context with the request's signed caller) for as long as the worker stayed activated, about 2 KB per
/// tenant's worker in bench S10, all of it surviving into the collector's older generations. An ordinary grain's context
/// is already started with the flow suppressed (Orleans' own activator does that), so only stateless workers are wrapped;
/// what they run is the same, only the loop's ambient state is empty (each message brings its own request context).
/// </summary>
public sealed class StatelessWorkerFlow(IServiceProvider services, GrainClassMap grainClasses) : IGrainContextActivatorProvider
{
    /// <summary>Registers the provider ahead of Orleans' own, which the silo asks in registration order.</summary>
    public static void AddTo(IServiceCollection serviceCollection) =>
        serviceCollection.Insert(0, ServiceDescriptor.Singleton<IGrainContextActivatorProvider, StatelessWorkerFlow>());

    public bool TryGet(GrainType grainType, [NotNullWhen(true)] out IGrainContextActivator? activator)
    {
        foreach (var provider in services.GetServices<IGrainContextActivatorProvider>())
        {
            if (!ReferenceEquals(provider, this) && provider.TryGet(grainType, out var inner))
            {
                activator = grainClasses.TryGetGrainClass(grainType, out var grainClass) && grainClass.IsDefined(typeof(StatelessWorkerAttribute), inherit: true)
                    ? new WithoutFlow(inner)
                    : inner;
                return true;
            }
        }

        activator = null;
        return false;
    }

    private sealed class WithoutFlow(IGrainContextActivator inner) : IGrainContextActivator
    {
        public IGrainContext CreateContext(GrainAddress address, IConfigureGrainContext[] configureActions)
        {
            if (ExecutionContext.IsFlowSuppressed())
            {
                return inner.CreateContext(address, configureActions);
            }

            using (ExecutionContext.SuppressFlow())
            {
                return inner.CreateContext(address, configureActions);
            }
        }
    }
}
