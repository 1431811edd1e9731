using System.Net;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Infrastructure;

/// <summary>Scrapes of a host's <c>/metrics</c>, read as samples.</summary>
public static class MetricsScrape
{
    /// <summary>GET /metrics, with the scrape token as a bearer when there is one.</summary>
    public static async Task<HttpResponseMessage> SendScrapeAsync(this ApiHost host, string? authorization = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return await host.Client.SendAsync(request);
    }

    /// <summary>
    /// Scrapes until <paramref name="done"/> holds or 10 s have passed (the last scrape either way): ASP.NET Core records
    /// a request when it has finished, which may be just after the client has its answer.
    /// </summary>
    public static async Task<PrometheusText> ScrapeUntilAsync(this ApiHost host, Func<PrometheusText, bool> done, string? token = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var response = await host.SendScrapeAsync(token is null ? null : $"Bearer {token}");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var metrics = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
            if (done(metrics) || DateTime.UtcNow > deadline)
            {
                return metrics;
            }

            await Task.Delay(50);
        }
    }
}
