using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Common;
using Shohayota.Grains.Interfaces.Customers;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>
/// A stateless worker (a tenant's customer-query grain, first reached by a request) does not keep the ambient state of
/// the call that activated it: Orleans starts the worker's message loop with <c>Task.Run</c>, which captures the calling
/// thread's execution context, so the loop kept that request's async-local values (its activity, logging scope, HTTP
/// context, signed caller) alive for as long as the worker stayed activated (<see cref="Shohayota.Silo.Hosting.StatelessWorkerFlow"/>).
/// </summary>
public sealed class StatelessWorkerFlowTests
{
    private static readonly AsyncLocal<object?> Ambient = new();

    [Fact]
    public async Task AStatelessWorkerKeepsNothingOfTheCallThatActivatedIt()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var signer = host.Services.GetRequiredService<CallerSigner>();
        var worker = grains.GetGrain<ICustomerQueryGrain>(GrainKeys.CustomerQuery(tenant.Id));

        var marker = new StrongBox<WeakReference?>();
        var page = await Task.Run(() => CallWithAmbientValueAsync(worker, signer, marker));
        for (var i = 0; i < 20 && marker.Value!.IsAlive; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            await Task.Delay(50);
        }

        page.Succeeded.Should().BeTrue("the worker answers as before");
        marker.Value!.IsAlive.Should().BeFalse("the worker activated by the call must not hold the call's async-local values once it has answered");
        (await IsActiveAsync(host, GrainKeys.CustomerQuery(tenant.Id))).Should().BeTrue("the worker is still activated, so it was not collected with what it held");
    }

    /// <summary>The first call to the worker, from a flow holding an async-local value only it references.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<Outcome<CustomerPage>> CallWithAmbientValueAsync(ICustomerQueryGrain worker, CallerSigner signer, StrongBox<WeakReference?> marker)
    {
        SetAmbient(marker);
        signer.EnterSystem();
        try
        {
            return await worker.ListAsync(new CustomerQuery(null, null, null, null, CustomerSort.CreatedAtDescending, 1, null));
        }
        finally
        {
            RequestContext.Clear();
            Ambient.Value = null;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SetAmbient(StrongBox<WeakReference?> marker)
    {
        var value = new byte[4096];
        marker.Value = new WeakReference(value);
        Ambient.Value = value;
    }

    private static async Task<bool> IsActiveAsync(ApiHost host, string key) =>
        (await host.ActiveGrainsAsync("customer-query"))
        .Any(id => id.Key.ToString() == key);
}
