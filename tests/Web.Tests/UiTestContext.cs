using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace Shohayota.Web.Tests;

/// <summary>A bUnit context with MudBlazor's services and a loose JS runtime (MudBlazor calls JS we do not assert on).</summary>
public abstract class UiTestContext : BunitContext
{
    protected UiTestContext()
    {
        Services.AddMudServices();
        JSInterop.Mode = JSRuntimeMode.Loose;
    }
}
