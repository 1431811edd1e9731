using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace Shohayota.Web.Tests;

/// <summary>
/// A bUnit context with MudBlazor's services and a loose JS runtime (MudBlazor calls JS we do not assert on). It is
/// disposed asynchronously: MudBlazor's popover services implement only IAsyncDisposable, and xUnit 2 calls
/// IAsyncLifetime.DisposeAsync before Dispose (which then has nothing left to do).
/// </summary>
public abstract class UiTestContext : BunitContext, IAsyncLifetime
{
    protected UiTestContext()
    {
        Services.AddMudServices();
        JSInterop.Mode = JSRuntimeMode.Loose;
    }

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();
}
