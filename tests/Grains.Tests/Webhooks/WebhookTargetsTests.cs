using System.Net;
using System.Net.Sockets;
using System.Text;
using Shohayota.Grains.Webhooks;

namespace Shohayota.Grains.Tests.Webhooks;

/// <summary>The SSRF guard: every spelling of an internal address refused, at registration and at the connection itself.</summary>
public sealed class WebhookTargetsTests
{
    [Theory]
    [InlineData("https://localhost/hook")]
    [InlineData("https://LOCALHOST./hook")]
    [InlineData("https://127.0.0.1/hook")]
    [InlineData("https://127.1/hook")]
    [InlineData("https://2130706433/hook")]
    [InlineData("https://0x7f000001/hook")]
    [InlineData("https://0177.0.0.1/hook")]
    [InlineData("https://[::1]/hook")]
    [InlineData("https://[::ffff:127.0.0.1]/hook")]
    [InlineData("https://[::ffff:7f00:1]/hook")]
    [InlineData("https://[64:ff9b::7f00:1]/hook")]
    [InlineData("https://[2002:7f00:1::]/hook")]
    [InlineData("https://0.0.0.0/hook")]
    [InlineData("https://[::]/hook")]
    [InlineData("https://10.1.2.3/hook")]
    [InlineData("https://172.16.0.1/hook")]
    [InlineData("https://192.168.1.1/hook")]
    [InlineData("https://100.64.0.1/hook")]
    [InlineData("https://[fd12:3456::1]/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data/")]
    [InlineData("https://[fd00:ec2::254]/")]
    [InlineData("https://[fe80::1]/hook")]
    [InlineData("https://224.0.0.1/hook")]
    [InlineData("https://255.255.255.255/hook")]
    [InlineData("http://example.com/hook")]
    [InlineData("ftp://example.com/hook")]
    [InlineData("https://user:secret@example.com/hook")]
    [InlineData("https://example.com/hook#fragment")]
    [InlineData("/relative/hook")]
    [InlineData("not a url")]
    [InlineData("")]
    public async Task InternalAddressesInEverySpellingAndNonHttpsUrlsAreRefused(string url)
    {
        var refusal = await RefusalAsync(url, allowInsecureLocal: false);

        refusal.Should().NotBeNull(url);
    }

    [Theory]
    [InlineData("https://93.184.215.14/hook")]
    [InlineData("https://[2606:4700:4700::1111]/hook")]
    [InlineData("https://8.8.8.8:8443/hooks/shohayota?source=crm")]
    public async Task PublicAddressesOverHttpsAreAllowed(string url)
    {
        var refusal = await RefusalAsync(url, allowInsecureLocal: false);

        refusal.Should().BeNull();
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook", true)]
    [InlineData("http://localhost:8080/hook", true)]
    [InlineData("https://[::1]/hook", true)]
    [InlineData("https://169.254.169.254/latest/meta-data/", false)]
    [InlineData("http://[fe80::1]/hook", false)]
    [InlineData("http://[fd00:ec2::254]/", false)]
    [InlineData("http://10.0.0.1/hook", false)]
    public async Task ForLocalDevelopmentLoopbackAndHttpAreAllowedButMetadataLinkLocalAndPrivateAreNot(string url, bool allowed)
    {
        var refusal = await RefusalAsync(url, allowInsecureLocal: true);

        (refusal is null).Should().Be(allowed, refusal);
    }

    [Fact]
    public async Task OneInternalAddressAmongPublicOnesRefusesTheName()
    {
        var (addresses, refusal) = await WebhookTargets.ResolveAsync("mixed.example", false,
            (_, _) => Task.FromResult(new[] { IPAddress.Parse("93.184.215.14"), IPAddress.Parse("10.0.0.7") }), CancellationToken.None);

        addresses.Should().BeEmpty();
        refusal.Should().Contain("10.0.0.7").And.Contain("private");
    }

    [Fact]
    public async Task TheConnectionItselfIsGuardedSoANameThatTurnsInternalAfterRegistrationIsNotReached()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var served = ServeOnceAsync(listener);
        // The name passed registration as a public address; by delivery it resolves to this machine (DNS rebinding).
        Task<IPAddress[]> Rebound(string host, CancellationToken token) => Task.FromResult(new[] { IPAddress.Loopback });

        using var guarded = new HttpClient(WebhookTargets.GuardedHandler(allowInsecureLocal: false, Rebound));
        var refused = await guarded.Invoking(c => c.GetAsync(new Uri($"http://rebound.example:{port}/hook"))).Should().ThrowAsync<HttpRequestException>();
        using var development = new HttpClient(WebhookTargets.GuardedHandler(allowInsecureLocal: true, Rebound));
        using var reached = await development.GetAsync(new Uri($"http://rebound.example:{port}/hook"));

        Chain(refused.Which).OfType<WebhookTargetRefusedException>().Should().ContainSingle().Which.Message.Should().Contain("loopback");
        reached.StatusCode.Should().Be(HttpStatusCode.OK, "with local targets allowed the same connection is made");
        (await served).Should().Be(1, "only the allowed request reached the listener");
    }

    [Fact]
    public async Task RedirectsAreNotFollowed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var served = ServeOnceAsync(listener, "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

        using var client = new HttpClient(WebhookTargets.GuardedHandler(allowInsecureLocal: true));
        using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/hook"));

        response.StatusCode.Should().Be(HttpStatusCode.TemporaryRedirect, "the redirect is the answer, not a new request");
        (await served).Should().Be(1);
    }

    private static async Task<string?> RefusalAsync(string url, bool allowInsecureLocal)
    {
        if (WebhookTargets.UrlRefusal(url, allowInsecureLocal, out var target) is { } refused)
        {
            return refused;
        }

        return (await WebhookTargets.ResolveAsync(target!.DnsSafeHost, allowInsecureLocal, (host, token) => Dns.GetHostAddressesAsync(host, token), CancellationToken.None)).Refusal;
    }

    /// <summary>Accepts connections until the test ends (one second without a new one); answers each and counts them.</summary>
    private static async Task<int> ServeOnceAsync(TcpListener listener, string answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    {
        var count = 0;
        while (true)
        {
            var accept = listener.AcceptTcpClientAsync();
            if (await Task.WhenAny(accept, Task.Delay(TimeSpan.FromSeconds(count == 0 ? 10 : 1))) != accept)
            {
                return count;
            }

            using var client = await accept;
            count++;
            var stream = client.GetStream();
            var buffer = new byte[4096];
            _ = await stream.ReadAsync(buffer);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(answer));
        }
    }

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
