namespace Shohayota.Web.Tests.Admin;

/// <summary>
/// Disposes the bUnit context asynchronously: MudBlazor's inputs and selects use services that only implement
/// IAsyncDisposable, and xUnit 2 calls IAsyncLifetime.DisposeAsync before Dispose (which then has nothing left to do).
/// </summary>
public abstract class AdminTestContext : UiTestContext, IAsyncLifetime
{
    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();
}
