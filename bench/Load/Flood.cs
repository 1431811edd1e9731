using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Shohayota.Load;

/// <summary>
/// S9, flood vs. normal traffic. The owner is the first tenant's admin; the readers are S1-style hot reads of the other
/// tenants' admins. First the reads alone (S9a), then the same reads (S9b) while attacker connections send wrong
/// passwords for the owner's e-mail through <c>X-Forwarded-For</c> (the Api trusts loopback as its balancer in this
/// phase), and the owner signs in 20 times with the right password from another forwarded address.
/// </summary>
public static class Flood
{
    public const string OwnerAddress = "198.51.100.20";
    private const int OwnerTries = 20;

    /// <summary>Five times the issue's 2 s target: a slower sign-in counts as failed ("0"), and S9 ends in bounded time.</summary>
    public static readonly TimeSpan OwnerTimeout = TimeSpan.FromSeconds(10);

    public static async Task<FloodResult> MeasureAsync(
        BenchState state, Uri api, IReadOnlyDictionary<Guid, string> tokens, DriveSettings settings, ProcessMeter meter, int serverPid,
        int floodConnections, int attackerAddresses)
    {
        var owner = state.Tenants[0];
        var readers = state.AllTenants.Where(t => t.Id != owner.Id).ToList();
        var reads = HotReads(api, tokens, readers);
        var alone = await LoadDriver.MeasureAsync(reads with { Name = "S9a" }, settings, meter, serverPid);
        Print(alone);

        using var stop = new CancellationTokenSource();
        var attacker = new Attacker(api, owner.AdminEmail, floodConnections, attackerAddresses);
        var flood = attacker.RunAsync(stop.Token);
        // The flood reaches its pace before anything is measured.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var ownerTries = OwnerSignInsAsync(api, owner, settings.Warmup + settings.Duration);
        var underFlood = await LoadDriver.MeasureAsync(
            reads with { Name = "S9b", Title = reads.Title + ", under the sign-in flood", WarmUntilSteady = false }, settings, meter, serverPid);
        Print(underFlood);
        var tries = await ownerTries;
        await stop.CancelAsync();
        var (statuses, floodSeconds) = await flood;

        var ok = tries.Where(t => t.Status == 200).Select(t => t.Milliseconds).Order().ToList();
        var all = tries.Select(t => t.Milliseconds).Order().ToList();
        var result = new FloodResult(
            floodConnections, attackerAddresses, attackerAddresses == 1 ? Attacker.Address(0) : $"{Attacker.Address(0)} … {Attacker.Address(attackerAddresses - 1)}",
            OwnerAddress, statuses.Values.Sum(), statuses.Values.Sum() / floodSeconds, statuses,
            tries.Count, ok.Count, Percentile(all, 0.50), Percentile(all, 0.95), all.Count == 0 ? 0 : all[^1],
            tries.GroupBy(t => t.Status.ToString(CultureInfo.InvariantCulture)).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal),
            alone, underFlood);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  S9 : reads under flood / alone = {underFlood.RequestsPerSecond / Math.Max(1, alone.RequestsPerSecond):F2} (p99 {alone.P99Ms:F2} → {underFlood.P99Ms:F2} ms); " +
            $"owner {ok.Count}/{tries.Count} signed in, p50 {result.OwnerP50Ms:F0} ms, p95 {result.OwnerP95Ms:F0} ms; " +
            $"attacker {result.AttackerRequests:N0} attempts ({result.AttackerPerSecond:N0}/s): {string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Value:N0} × {s.Key}"))}"));
        return result;
    }

    private static Scenario HotReads(Uri api, IReadOnlyDictionary<Guid, string> tokens, IReadOnlyList<SeededTenant> tenants)
    {
        var uris = tenants.Select(t => t.HotIds.Select(id => new Uri(api, $"api/customers/{id:D}")).ToArray()).ToArray();
        var bearers = tenants.Select(t => "Bearer " + tokens[t.Id]).ToArray();
        return new Scenario("S9", $"S1-style GET /api/customers/{{id}}: hot ids of {tenants.Count} other tenants' admins", Target.Api, (worker, sequence) =>
        {
            var tenant = worker % tenants.Count;
            var ids = uris[tenant];
            var message = new HttpRequestMessage(HttpMethod.Get, ids[(int)((worker * 31 + sequence) % ids.Length)]);
            message.Headers.TryAddWithoutValidation("Authorization", bearers[tenant]);
            return message;
        });
    }

    /// <summary>The owner's sign-ins, one after another, spread over the measured window (the next one starts when the last answered).</summary>
    private static async Task<List<(int Status, double Milliseconds)>> OwnerSignInsAsync(Uri api, SeededTenant owner, TimeSpan window)
    {
        using var client = new HttpClient { BaseAddress = api, Timeout = OwnerTimeout };
        var body = $$"""{"email":"{{owner.AdminEmail}}","password":"{{owner.AdminPassword}}"}""";
        var spacing = window / OwnerTries;
        var tries = new List<(int, double)>();
        for (var i = 0; i < OwnerTries; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/auth/login") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", OwnerAddress);
            int status;
            try
            {
                using var response = await client.SendAsync(request);
                status = (int)response.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                status = 0;
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            tries.Add((status, elapsed.TotalMilliseconds));
            if (spacing > elapsed)
            {
                await Task.Delay(spacing - elapsed);
            }
        }

        return tries;
    }

    private static double Percentile(List<double> sorted, double share) =>
        sorted.Count == 0 ? 0 : sorted[Math.Max(0, (int)Math.Ceiling(share * sorted.Count) - 1)];

    private static void Print(ScenarioResult r) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {r.Name,-3}: {r.RequestsPerSecond,9:N0} req/s  p50 {r.P50Ms,7:F2} ms  p99 {r.P99Ms,7:F2} ms  errors {r.Errors}  other {r.OtherCpuPercent:F0} %"));

    /// <summary>Closed-loop wrong-password sign-ins for one e-mail, from one forwarded address or a rotation of several.</summary>
    private sealed class Attacker(Uri api, string email, int connections, int addresses)
    {
        private readonly ConcurrentDictionary<string, long> _statuses = new(StringComparer.Ordinal);

        /// <summary>Addresses from TEST-NET-3 (203.0.113.0/24) and on into 203.0.114.x for more than 254.</summary>
        public static string Address(int index) => $"203.0.{113 + index / 254}.{1 + index % 254}";

        public async Task<(IReadOnlyDictionary<string, long> Statuses, double Seconds)> RunAsync(CancellationToken stop)
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false, UseCookies = false };
            using var client = new HttpClient(handler) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, connections).Select(worker => Task.Run(() => WorkAsync(client, worker, stop))));
            return (new Dictionary<string, long>(_statuses, StringComparer.Ordinal), Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        private async Task WorkAsync(HttpClient client, int worker, CancellationToken stop)
        {
            for (long sequence = 0; !stop.IsCancellationRequested; sequence++)
            {
                var body = $$"""{"email":"{{email}}","password":"wrong-password-{{worker}}-{{sequence}}"}""";
                using var request = new HttpRequestMessage(HttpMethod.Post, "api/auth/login") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.TryAddWithoutValidation("X-Forwarded-For", Address((int)((worker + sequence * connections) % addresses)));
                string outcome;
                try
                {
                    using var response = await client.SendAsync(request, stop);
                    outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException e)
                {
                    outcome = e.HttpRequestError.ToString();
                }
                catch (TaskCanceledException)
                {
                    outcome = "timeout";
                }

                _statuses.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }
        }
    }
}

public sealed record FloodResult(
    int AttackerConnections, int AttackerAddresses, string AttackerAddressRange, string OwnerAddress,
    long AttackerRequests, double AttackerPerSecond, IReadOnlyDictionary<string, long> AttackerOutcomes,
    int OwnerTries, int OwnerSignedIn, double OwnerP50Ms, double OwnerP95Ms, double OwnerMaxMs, IReadOnlyDictionary<string, long> OwnerOutcomes,
    ScenarioResult Alone, ScenarioResult UnderFlood);
