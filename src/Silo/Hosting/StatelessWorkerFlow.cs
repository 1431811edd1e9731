using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;

namespace Shohayota.Silo.Hosting;

/// <summary>
/// Creates the contexts of stateless-worker grains (the query grains, the directories) without the execution context of
/// the call that first reached them. Orleans starts such a context's message loop with <c>Task.Run</c>, which captures
/// the execution context of whichever thread created the context, and on this node that is the HTTP request whose call
/// arrived first: the loop then kept that request's async-local state (its <c>Activity</c>, logging scope,
/// <c>HttpContext</c> and request services, and the Orleans request context with the request's signed caller) for as long
/// as the worker stayed activated, about 2 KB per tenant's worker in bench S10, all of it surviving into the collector's
/// older generations. An ordinary grain's context is already started with the flow suppressed (Orleans' own activator does
/// that, and would throw if the flow were suppressed already), so only stateless workers are wrapped, found as Orleans
/// finds them: by their placement. What they run is the same; only the loop's ambient state is empty (each message brings
/// its own request context).
/// </summary>
public sealed class StatelessWorkerFlow(IServiceProvider services, GrainTypeSharedContextResolver grainTypes) : IGrainContextActivatorProvider
{
    /// <summary>Orleans' stateless-worker placement (its type is internal; the attribute's strategy is an instance of it).</summary>
    private static readonly Type StatelessWorkerPlacement = new StatelessWorkerAttribute().PlacementStrategy.GetType();

    public bool TryGet(GrainType grainType, [NotNullWhen(true)] out IGrainContextActivator? activator)
    {
        foreach (var provider in services.GetServices<IGrainContextActivatorProvider>())
        {
            if (provider is not StatelessWorkerFlow && provider.TryGet(grainType, out var inner))
            {
                activator = grainTypes.GetComponents(grainType).PlacementStrategy.GetType() == StatelessWorkerPlacement ? new WithoutFlow(inner) : inner;
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

public static class StatelessWorkerFlowExtensions
{
    /// <summary>Registers <see cref="StatelessWorkerFlow"/> ahead of Orleans' own provider, which the silo asks after it (in registration order); once.</summary>
    public static IServiceCollection AddShohayotaStatelessWorkerFlow(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(IGrainContextActivatorProvider) && d.ImplementationType == typeof(StatelessWorkerFlow)))
        {
            services.Insert(0, ServiceDescriptor.Singleton<IGrainContextActivatorProvider, StatelessWorkerFlow>());
        }

        return services;
    }
}
