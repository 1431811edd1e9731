using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shohayota.E2E.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Shohayota.E2E.Tests.Deals;

/// <summary>What the deals and pipeline browser tests share: a board column, and the API calls that set up or check their data.</summary>
public abstract class PipelineUiTest(UiFixture fixture, ITestOutputHelper output) : UiTest(fixture, output)
{
    /// <summary>The board's column of one stage (a region named after it).</summary>
    protected ILocator Column(string stage) => Page.GetByRole(AriaRole.Region, new() { Name = stage, Exact = true });

    /// <summary>The tenant's stages by name, from <c>GET /api/pipeline</c>.</summary>
    protected async Task<Dictionary<string, Guid>> StagesAsync(string token) =>
        (await GetAsync(token, "/api/pipeline"))["stages"]!.AsArray()
            .ToDictionary(s => s!["name"]!.GetValue<string>(), s => s!["id"]!.GetValue<Guid>());

    protected async Task<JsonObject> GetAsync(string token, string path)
    {
        using var response = await Server.SendAsync(HttpMethod.Get, path, token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Creates a record through the API and answers its id.</summary>
    protected async Task<Guid> CreateAsync(string token, string path, object body)
    {
        using var response = await Server.SendAsync(HttpMethod.Post, path, token, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }
}
