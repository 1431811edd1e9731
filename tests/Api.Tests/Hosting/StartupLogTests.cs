using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Hosting;

/// <summary>
/// The program as an operator starts it (<c>Shohayota.Api.dll</c> with its appsettings.json, a fresh data directory, the
/// managed PostgreSQL): what it prints at the default Information level, and the JSON console format.
/// </summary>
public sealed class StartupLogTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task AFreshStartPrintsOurOwnLinesAndNoThirdPartyChatterOrWarnings()
    {
        var lines = new List<string>();

        await using (var node = await FreshNode.StartAsync([]))
        {
            lines.AddRange(await node.StopAsync());
        }

        var output = string.Join('\n', lines);
        lines.Should().NotContain(l => l.Contains("Polly", StringComparison.Ordinal), "Polly's per-call lines are chatter:\n{0}", output);
        // One exception: Orleans' note about workstation GC, which AppProcess chooses for test machines (the program
        // itself runs server GC). The isolation probe's own refusals are Debug lines, so they are not exempt.
        lines.Select((l, i) => (Line: l, Next: i + 1 < lines.Count ? lines[i + 1] : ""))
            .Where(l => l.Line.StartsWith("warn:", StringComparison.Ordinal))
            .Where(l => !l.Next.Contains("ServerGC", StringComparison.Ordinal))
            .Should().BeEmpty("a healthy fresh start logs no warnings:\n{0}", output);
        lines.Should().NotContain(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal));
        output.Should().Contain("Local database ready").And.Contain("Now listening on: http://127.0.0.1:").And.Contain("joined cluster");
    }

    [Fact]
    public async Task TheJsonFormatWritesJsonLinesAndARequestLineCarriesTheTenantAndTraceId()
    {
        var lines = new List<string>();

        await using (var node = await FreshNode.StartAsync(["--Logging:Console:FormatterName=json", "--Logging:LogLevel:Shohayota.Requests=Information"]))
        {
            using var client = new HttpClient { BaseAddress = node.Address };
            var password = File.ReadAllLines(Path.Combine(node.DataDirectory, "superadmin.txt")).Single(l => l.StartsWith("password=", StringComparison.Ordinal))["password=".Length..];
            using var login = await client.PostAsJsonAsync("/api/auth/login", new { email = "admin@shohayota.local", password });
            login.EnsureSuccessStatusCode();
            var token = (await login.Content.ReadFromJsonAsync<JsonObject>())!["accessToken"]!.GetValue<string>();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/admin/tenants");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var tenants = await client.SendAsync(request);
            tenants.EnsureSuccessStatusCode();
            lines.AddRange(await node.StopAsync());
        }

        var output = string.Join('\n', lines);
        lines.Should().NotContain(l => l.StartsWith("info:", StringComparison.Ordinal) || l.StartsWith("warn:", StringComparison.Ordinal), "every log line is JSON, the start-up's too:\n{0}", output);
        var entries = lines.Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        entries.Should().Contain(e => (string?)e["Category"] == "Shohayota.Cluster");
        var requestLine = entries.Single(e => (string?)e["Category"] == "Shohayota.Requests" && ((string?)e["Message"] ?? "").StartsWith("GET /api/admin/tenants ", StringComparison.Ordinal));
        var scope = requestLine["Scopes"]!.AsArray().Select(s => s as JsonObject).Single(s => s?["TenantId"] is not null)!;
        ((string?)scope["TenantId"]).Should().Be("system", "the super-admin's requests belong to the system tenant");
        ((string?)scope["TraceId"]).Should().MatchRegex("^[0-9a-f]{32}$");
    }

    [Fact]
    public async Task AFreshNodeWhoseHttpPortIsTakenEndsWithOneLineSayingSoExitCodeOneAndItsDatabaseStopped()
    {
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var address = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)squatter.LocalEndpoint).Port}");
        var directory = TestDatabase.NewDirectory();
        await using var process = AppProcess.Start("Shohayota.Api.dll", "fresh node on a taken port", FreshNode.Arguments(directory, address, []),
            Path.Combine(directory, "node.log"));

        using (var wait = new CancellationTokenSource(StartTimeout))
        {
            await process.WaitForExitAsync(wait.Token);
        }

        process.ExitCode.Should().Be(1, process.Output());
        process.Output().Should().Contain($"Shohayota cannot start: Failed to bind to address {address.ToString().TrimEnd('/')}: address already in use. Another process listens there")
            .And.Contain("Local database ready").And.NotContain("Unhandled exception")
            .And.Contain("joined cluster").And.NotContain("non-graceful").And.NotContain("crit:",
                "the silo had joined before the HTTP port failed: the node stops it as a clean shutdown does, not by disposing it");
        // PostgreSQL removes its pid file when it stops; a server left running keeps it (and its port and memory).
        File.Exists(Path.Combine(directory, "data", "postgres", "data", "postmaster.pid")).Should().BeFalse("the managed PostgreSQL is stopped:\n{0}", process.Output());
    }

    [Theory]
    [InlineData("Shohayota.Api.dll")]
    [InlineData("Shohayota.Silo.dll")]
    public async Task AFreshNodeWhoseTlsCertificateCannotBeLoadedEndsWithOneLineNamingItAndStopsItsDatabase(string program)
    {
        // The cluster's certificate is loaded as the silo is configured, after the managed PostgreSQL is up and migrated:
        // a missing file must end the start with one line (no unhandled exception) and must not leave that server running.
        var directory = TestDatabase.NewDirectory();
        var certificate = Path.Combine(directory, "missing-node.pem");
        var key = Path.Combine(directory, "missing-node.key");
        var address = new Uri($"http://127.0.0.1:{TestDatabase.FreePort()}");
        await using var process = AppProcess.Start(program, "fresh node with a missing certificate",
            FreshNode.Arguments(directory, address, [$"--Shohayota:Cluster:Tls:CertificatePath={certificate}", $"--Shohayota:Cluster:Tls:KeyPath={key}"]),
            Path.Combine(directory, "node.log"));

        using (var wait = new CancellationTokenSource(StartTimeout))
        {
            await process.WaitForExitAsync(wait.Token);
        }

        process.ExitCode.Should().Be(1, process.Output());
        process.Output().Should().Contain("Local database ready")
            .And.Contain($"Shohayota cannot start: Shohayota:Cluster:Tls:CertificatePath '{certificate}' with Shohayota:Cluster:Tls:KeyPath '{key}' cannot be loaded: ")
            .And.NotContain("Unhandled exception");
        File.Exists(Path.Combine(directory, "data", "postgres", "data", "postmaster.pid")).Should().BeFalse("the managed PostgreSQL is stopped:\n{0}", process.Output());
    }

    [Theory]
    [InlineData("--Shohayota:Auth:SigningKey=not a key", null, "Shohayota:Auth:SigningKey must be a base64 key of at least 32 bytes.")]
    [InlineData("--Shohayota:Cluster:CallerKeys=c2hvcnQ=", null, "Shohayota:Cluster:CallerKeys must list base64 keys of at least 32 bytes each, separated by commas.")]
    [InlineData("--Shohayota:Cluster:CallerLifetime=soon", null, "Shohayota:Cluster:CallerLifetime must be a time span between 00:00:01 and 1.00:00:00, not 'soon'.")]
    [InlineData(null, "jwt-signing.key", "/data/jwt-signing.key (Shohayota:Auth:SigningKey is not set) does not hold a base64 key of at least 32 bytes. Restore it from a backup of the data directory, or set Shohayota:Auth:SigningKey.")]
    [InlineData(null, "ui-key-encryption.key", "/data/ui-key-encryption.key (Shohayota:Ui:KeyEncryptionKey is not set) does not hold a base64 key of at least 32 bytes.")]
    public async Task AFreshNodeWithAKeyItCannotUseEndsWithOneLineNamingItAndStopsItsDatabase(string? setting, string? damagedFile, string message)
    {
        // Keys are read as the node is built and its services start, after the managed PostgreSQL is up: a configured
        // key that is not base64 (or too short), a lifetime that is no time span, or a key file cut short (a crash while
        // it was copied, an edit) ends the start with one line, never an unhandled exception, and stops that server.
        var directory = TestDatabase.NewDirectory();
        if (damagedFile is not null)
        {
            Directory.CreateDirectory(Path.Combine(directory, "data"));
            // Valid base64 cut short ("short", 5 bytes) for the token key; for the UI key, not base64 at all.
            await File.WriteAllTextAsync(Path.Combine(directory, "data", damagedFile), damagedFile == "jwt-signing.key" ? "c2hvcnQ=\n" : "not a key!\n");
        }

        var address = new Uri($"http://127.0.0.1:{TestDatabase.FreePort()}");
        await using var process = AppProcess.Start("Shohayota.Api.dll", "fresh node with a key it cannot use",
            FreshNode.Arguments(directory, address, setting is null ? [] : [setting]), Path.Combine(directory, "node.log"));

        using (var wait = new CancellationTokenSource(StartTimeout))
        {
            await process.WaitForExitAsync(wait.Token);
        }

        process.ExitCode.Should().Be(1, process.Output());
        process.Output().Should().Contain("Local database ready").And.Contain("Shohayota cannot start: ").And.Contain(message)
            .And.NotContain("Unhandled exception");
        File.Exists(Path.Combine(directory, "data", "postgres", "data", "postmaster.pid")).Should().BeFalse("the managed PostgreSQL is stopped:\n{0}", process.Output());
    }

    /// <summary>One node on a fresh data directory and free ports, with nothing configured but ports and directory.</summary>
    private sealed class FreshNode : IAsyncDisposable
    {
        private readonly AppProcess _process;

        private FreshNode(AppProcess process, Uri address, string dataDirectory)
        {
            _process = process;
            Address = address;
            DataDirectory = dataDirectory;
        }

        public Uri Address { get; }

        public string DataDirectory { get; }

        public static async Task<FreshNode> StartAsync(string[] settings)
        {
            var directory = TestDatabase.NewDirectory();
            var address = new Uri($"http://127.0.0.1:{TestDatabase.FreePort()}");
            var process = AppProcess.Start("Shohayota.Api.dll", "fresh node", Arguments(directory, address, settings), Path.Combine(directory, "node.log"));
            var node = new FreshNode(process, address, Path.Combine(directory, "data"));
            using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
            await process.WaitUntilHealthyAsync(client, StartTimeout);
            return node;
        }

        /// <summary>SIGTERM, as an operator stops it (the node then stops its PostgreSQL); returns everything it printed.</summary>
        public async Task<string[]> StopAsync()
        {
            using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await signal.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _process.WaitForExitAsync(wait.Token);
            using var log = new StreamReader(new FileStream(_process.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            return (await log.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        public async ValueTask DisposeAsync() => await _process.DisposeAsync();

        /// <summary>Nothing configured but the address, the data directory, free ports and <paramref name="settings"/>.</summary>
        public static string[] Arguments(string directory, Uri address, string[] settings) =>
        [
            $"--urls={address}",
            $"--Shohayota:DataDirectory={Path.Combine(directory, "data")}",
            $"--Shohayota:Database:Port={TestDatabase.FreePort()}",
            "--Shohayota:Database:Durable=false",
            $"--Shohayota:Cluster:ClusterId=fresh-{Guid.NewGuid():N}",
            $"--Shohayota:Cluster:SiloPort={TestDatabase.FreePort()}",
            $"--Shohayota:Cluster:GatewayPort={TestDatabase.FreePort()}",
            .. settings,
        ];
    }
}
