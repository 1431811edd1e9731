using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Shohayota.Load;

/// <summary>
/// S10, cost per tenant: seeds many small tenants in bulk, sends one authenticated request to each (its first: the
/// tenant's grains activate), then once more (warm), and measures the node's memory per active tenant after a full
/// garbage collection, the idle CPU those tenants cost, the super-admin's tenant list at that size, and that the tenants'
/// grains are deactivated and their memory returned after the collection age the Api was started with.
/// </summary>
public static class TenantScale
{
    private const string AdminPassword = "Bench-Scale-Admin-Password-1";

    /// <summary>The tenants whose first requests warm the code paths (JIT, pools) before memory is measured; not counted.</summary>
    private const int WarmUpTenants = 200;

    private static readonly TimeSpan PassBudget = TimeSpan.FromSeconds(120);

    public static async Task RunAsync(CommandLine options)
    {
        var api = new Uri(options.Get("api"));
        var count = options.GetInt("tenants");
        var customers = options.GetInt("customers");
        var connections = options.GetInt("connections");
        var serverPid = options.GetInt("server-pid");
        var collectionAge = TimeSpan.FromSeconds(options.GetInt("collection-age"));
        var postgresDirectory = options.Get("pg-dir");
        var meter = new ProcessMeter(BenchDatabase.PostmasterPid(postgresDirectory));
        var state = BenchState.Load(options.Get("state"));
        var warmUp = Math.Min(WarmUpTenants, count / 5);

        await using var dataSource = NpgsqlDataSource.Create(BenchDatabase.SuperuserConnectionString(postgresDirectory, options.GetInt("pg-port"), 2));
        var clock = Stopwatch.StartNew();
        var tenants = await SeedAsync(dataSource, count, customers, state.Plan);
        var seedSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  S10: seeded {count:N0} tenants ({customers} customers and one admin each) in {seedSeconds:F1} s, VACUUM and CHECKPOINT included");

        var minter = new TokenMinter(Path.Combine(options.Get("data-dir"), "jwt-signing.key"));
        var bearers = tenants.Select(t => "Bearer " + minter.Mint(t.TenantId, t.AdminId, t.AdminEmail)).ToArray();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false, UseCookies = false })
        {
            BaseAddress = api,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var superToken = await new ApiClient(http).LoginAsync(state.SuperAdminEmail, state.SuperAdminPassword);
        var page = new Uri(api, "api/customers?pageSize=1");

        var start = await MemoryAsync(http, superToken);
        var idleBefore = await IdleCpuAsync(meter, serverPid, TimeSpan.FromSeconds(5));
        var warm = await PassAsync(http, page, bearers[..warmUp], connections, meter, serverPid);
        var before = await MemoryAsync(http, superToken);
        var cold = await PassAsync(http, page, bearers[warmUp..], connections, meter, serverPid);
        var after = await MemoryAsync(http, superToken);
        var (collections, paused) = after.GcSince(before);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  S10a cold: {cold.Requests:N0} first requests, p50 {cold.P50Ms:F2} ms, p99 {cold.P99Ms:F2} ms, max {cold.MaxMs:F1} ms, errors {cold.Errors}; " +
            $"memory {before.GcHeapBytes / 1048576.0:F1} → {after.GcHeapBytes / 1048576.0:F1} MB heap, {before.WorkingSetBytes / 1048576.0:F1} → {after.WorkingSetBytes / 1048576.0:F1} MB RSS; " +
            $"GC during the pass {string.Join("/", collections)} collections (gen0/1/2), {paused:F0} ms paused; JIT {after.JitMethods - before.JitMethods:N0} methods compiled ({after.JitMs - before.JitMs:F0} ms of the compiling threads, wall time)"));
        var again = await PassAsync(http, page, bearers, connections, meter, serverPid);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  S10b warm: {again.Requests:N0} requests, p50 {again.P50Ms:F2} ms, p99 {again.P99Ms:F2} ms, errors {again.Errors}"));
        var idleActive = await IdleCpuAsync(meter, serverPid, TimeSpan.FromSeconds(10));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  S10c idle: server {idleBefore.ServerPercent:F1} → {idleActive.ServerPercent:F1} % of a core, PostgreSQL {idleBefore.PostgresPercent:F1} → {idleActive.PostgresPercent:F1} %"));

        var bigTenants = await BigTenantColdAsync(dataSource, http, page, minter, state);
        var lists = await ListScenariosAsync(http, superToken, api, count, connections, options, meter, serverPid);

        // Everything is idle from here on: the grains go between the age and the age plus the quantum after their last call.
        var idleSince = Stopwatch.StartNew();
        var collected = after;
        var deadline = collectionAge + TimeSpan.FromSeconds(options.GetInt("collection-slack", 45));
        var target = start.Activations + 50;
        while (idleSince.Elapsed < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            collected = await MemoryAsync(http, superToken);
            Console.WriteLine($"    {idleSince.Elapsed.TotalSeconds:F0} s idle: {collected.Activations:N0} activations");
            if (collected.Activations <= target)
            {
                break;
            }
        }

        var result = new TenantScaleResult(
            count, customers, warmUp, connections, seedSeconds, collectionAge.TotalSeconds,
            start, before, after, collected, idleSince.Elapsed.TotalSeconds,
            cold, again, idleBefore, idleActive, bigTenants, lists);
        await File.WriteAllTextAsync(options.Get("out"), JsonSerializer.Serialize(result, BenchState.Json));
        // As a phase too, so a report of S10 alone has its phase (and S10d/S10e sit with the other scenarios' raw figures).
        var phase = new PhaseResults("s10", options.Find("server-args") ?? "", connections, options.GetInt("duration"), options.GetInt("warmup"), lists, null, null);
        await File.WriteAllTextAsync(options.Get("phase-out"), JsonSerializer.Serialize(phase, BenchState.Json));
    }

    private sealed record ScaleTenant(Guid TenantId, Guid AdminId, string AdminEmail);

    /// <summary>What provisioning writes (a tenants row and its admin, sql/0010), in bulk as the superuser; one PBKDF2 hash for all admins.</summary>
    private static async Task<List<ScaleTenant>> SeedAsync(NpgsqlDataSource dataSource, int count, int customers, string plan)
    {
        var tenants = Enumerable.Range(1, count)
            .Select(i => new ScaleTenant(Guid.NewGuid(), Guid.NewGuid(), $"admin@s{i:D5}.scale.bench.example.com"))
            .ToList();
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(AdminPassword), salt, 210_000, HashAlgorithmName.SHA512, 32);
        var passwordHash = $"pbkdf2-sha512$210000${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
        var ids = tenants.Select(t => t.TenantId).ToArray();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, """
            INSERT INTO tenants (id, name, contact_email, plan, status, created_at, status_changed_at, updated_at)
            SELECT t.id, 'Scale Tenant ' || lpad(t.n::text, 5, '0'), 'contact@s' || lpad(t.n::text, 5, '0') || '.scale.bench.example.com',
                   $2, 'active', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
            FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n)
            """, ids, plan);
        await ExecuteAsync(connection, """
            INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at, updated_at)
            SELECT u.tenant_id, u.id, u.email, 'Scale Admin', 'tenant_admin', $4, now() - interval '1 hour', now() - interval '1 hour'
            FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS u(tenant_id, id, email)
            """, ids, tenants.Select(t => t.AdminId).ToArray(), tenants.Select(t => t.AdminEmail).ToArray(), passwordHash);
        await ExecuteAsync(connection, """
            INSERT INTO customers (tenant_id, id, name, email, status, tags, created_at, updated_at, version)
            SELECT t.id, gen_random_uuid(), 'Scale Customer ' || g, 'customer' || g || '@s' || t.n || '.scale.bench.example.com',
                   (ARRAY['lead', 'prospect', 'customer', 'churned'])[1 + g % 4], ARRAY['scale'],
                   now() - g * interval '1 second', now() - g * interval '1 second', 1
            FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n), generate_series(1, $2) AS g
            """, ids, customers);
        await transaction.CommitAsync();
        // As after the main seed: the passes measure the tenants' requests, not autovacuum or the checkpointer catching up.
        await ExecuteAsync(connection, "VACUUM (ANALYZE) tenants, users, customers");
        await ExecuteAsync(connection, "CHECKPOINT");
        return tenants;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync();
    }

    /// <summary>One request per bearer, <paramref name="connections"/> at a time, each taking the next bearer: every request is that tenant's only one of the pass.</summary>
    private static async Task<PassResult> PassAsync(HttpClient http, Uri uri, string[] bearers, int connections, ProcessMeter meter, int serverPid)
    {
        var latencies = new long[bearers.Length];
        Array.Fill(latencies, -1);
        var next = -1;
        // A bounded pass: a node that hangs (30 s grain-call timeouts) must not hold the whole benchmark for an hour.
        var deadline = Stopwatch.GetTimestamp() + (long)(PassBudget.TotalSeconds * Stopwatch.Frequency);
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var cpuBefore = meter.Snapshot(serverPid);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < bearers.Length && Stopwatch.GetTimestamp() < deadline; i = Interlocked.Increment(ref next))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.TryAddWithoutValidation("Authorization", bearers[i]);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.SendAsync(request);
                    if (!response.IsSuccessStatusCode)
                    {
                        errors.AddOrUpdate($"HTTP {(int)response.StatusCode}", 1, (_, n) => n + 1);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    errors.AddOrUpdate(e.GetType().Name, 1, (_, n) => n + 1);
                }

                latencies[i] = Stopwatch.GetTimestamp() - started;
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = ProcessMeter.Between(cpuBefore, meter.Snapshot(serverPid));
        latencies = [.. latencies.Where(l => l >= 0)];
        var failed = errors.Values.Sum();
        if (latencies.Length < bearers.Length)
        {
            errors[$"not sent: the pass's {PassBudget.TotalSeconds:F0} s were over"] = bearers.Length - latencies.Length;
        }

        Array.Sort(latencies);
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        double Percentile(double share) => latencies.Length == 0 ? 0 : Ms(latencies[Math.Max(0, (int)Math.Ceiling(share * latencies.Length) - 1)]);
        var requests = Math.Max(1, latencies.Length);
        return new PassResult(latencies.Length, failed, seconds, latencies.Length / Math.Max(seconds, 0.001),
            Percentile(0.5), Percentile(0.99), latencies.Length == 0 ? 0 : Ms(latencies[^1]),
            cpu.ServerMilliseconds / requests, cpu.PostgresMilliseconds / requests, cpu.OtherPercent, errors.ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>CPU the node and PostgreSQL spend with nobody sending anything, in % of one core.</summary>
    private static async Task<IdleCpu> IdleCpuAsync(ProcessMeter meter, int serverPid, TimeSpan span)
    {
        var before = meter.Snapshot(serverPid);
        await Task.Delay(span);
        var cpu = ProcessMeter.Between(before, meter.Snapshot(serverPid));
        return new IdleCpu(100 * cpu.ServerMilliseconds / span.TotalMilliseconds, 100 * cpu.PostgresMilliseconds / span.TotalMilliseconds, cpu.OtherPercent);
    }

    /// <summary>The first request of each large tenant of the main seed (never used in this phase): an activation that counts its customers.</summary>
    private static async Task<List<BigTenantCold>> BigTenantColdAsync(NpgsqlDataSource dataSource, HttpClient http, Uri uri, TokenMinter minter, BenchState state)
    {
        var results = new List<BigTenantCold>();
        foreach (var tenant in state.AllTenants.OrderByDescending(t => t.Customers).Take(3))
        {
            await using var find = dataSource.CreateCommand("SELECT id, email FROM users WHERE tenant_id = $1 AND role = 'tenant_admin' ORDER BY created_at LIMIT 1");
            find.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            await using var reader = await find.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
            {
                continue;
            }

            var bearer = "Bearer " + minter.Mint(tenant.Id, reader.GetGuid(0), reader.GetString(1));
            var timings = new List<double>();
            var statuses = new List<int>();
            for (var i = 0; i < 2; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.TryAddWithoutValidation("Authorization", bearer);
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                timings.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                statuses.Add((int)response.StatusCode);
            }

            results.Add(new BigTenantCold(tenant.Customers + tenant.HotIds.Count, timings[0], timings[1], statuses[0], statuses[1]));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  S10: first request of a {tenant.Customers + tenant.HotIds.Count:N0}-customer tenant {timings[0]:F1} ms (HTTP {statuses[0]}), second {timings[1]:F1} ms (HTTP {statuses[1]})"));
        }

        return results;
    }

    /// <summary>GET /api/admin/tenants at this many tenants: first pages, deep keyset pages, a status filter, and name searches.</summary>
    private static async Task<List<ScenarioResult>> ListScenariosAsync(
        HttpClient http, string superToken, Uri api, int count, int connections, CommandLine options, ProcessMeter meter, int serverPid)
    {
        var client = new ApiClient(http);
        var cursors = new List<string>();
        string? cursor = null;
        do
        {
            var listed = await client.GetAsync("/api/admin/tenants?pageSize=200" + (cursor is null ? "" : "&cursor=" + cursor), superToken);
            cursor = listed.GetProperty("nextCursor").GetString();
            if (cursor is not null)
            {
                cursors.Add(cursor);
            }
        }
        while (cursor is not null);

        var bearer = "Bearer " + superToken;
        Uri Page(string query) => new(api, "api/admin/tenants" + query);
        var pages = cursors.Select(c => Page("?cursor=" + c)).Concat(cursors.Select(c => Page("?status=active&cursor=" + c))).Prepend(Page("")).ToArray();
        var searches = new[] { "Scale Tenant 0", $"Scale Tenant {count / 2:D5}", "s00042", "no such tenant" }
            .Select(q => Page("?q=" + Uri.EscapeDataString(q))).ToArray();
        var settings = new DriveSettings(connections, TimeSpan.FromSeconds(options.GetInt("duration")), TimeSpan.FromSeconds(options.GetInt("warmup")));
        var results = new List<ScenarioResult>();
        foreach (var (name, title, uris) in new[]
                 {
                     ("S10d", $"GET /api/admin/tenants pages (first, {cursors.Count} keyset cursors, status=active) at {count:N0}+ tenants", pages),
                     ("S10e", $"GET /api/admin/tenants?q= name searches at {count:N0}+ tenants", searches),
                 })
        {
            var scenario = new Scenario(name, title, Target.Api, (worker, sequence) =>
            {
                var message = new HttpRequestMessage(HttpMethod.Get, uris[(int)((worker * 7 + sequence) % uris.Length)]);
                message.Headers.TryAddWithoutValidation("Authorization", bearer);
                return message;
            });
            var result = await LoadDriver.MeasureAsync(scenario, settings, meter, serverPid);
            results.Add(result);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name}: {result.RequestsPerSecond:N0} req/s  p50 {result.P50Ms:F2} ms  p99 {result.P99Ms:F2} ms  errors {result.Errors}"));
        }

        return results;
    }

    private static async Task<MemorySample> MemoryAsync(HttpClient http, string superToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/admin/benchmark/memory");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + superToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<MemorySample>(BenchState.Json))!;
    }

    /// <summary>
    /// Bench-only: access tokens as the Api's <c>TokenIssuer</c> makes them (HS256, <c>at+jwt</c>, the same claims and
    /// 15-minute lifetime), signed with the key the Api generated in the data directory this bench created. Signing in
    /// 10,000 admins would cost 10,000 PBKDF2 hashes (about 13 minutes here) and measure sign-in, which S6 already does.
    /// </summary>
    private sealed class TokenMinter(string keyFile)
    {
        private readonly byte[] _key = Convert.FromBase64String(File.ReadAllText(keyFile).Trim());

        public string Mint(Guid tenantId, Guid userId, string email)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var header = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
            {
                ["alg"] = "HS256",
                ["kid"] = Convert.ToHexString(SHA256.HashData(_key))[..16],
                ["typ"] = "at+jwt",
            });
            var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["iss"] = "shohayota",
                ["aud"] = "shohayota-api",
                ["sub"] = userId.ToString("D"),
                ["email"] = email,
                ["jti"] = Guid.NewGuid().ToString("N"),
                ["role"] = "tenant_admin",
                ["tid"] = tenantId.ToString("D"),
                ["iat"] = now,
                ["nbf"] = now,
                ["exp"] = now + 15 * 60,
            });
            var unsigned = Base64Url(header) + "." + Base64Url(payload);
            return unsigned + "." + Base64Url(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(unsigned)));
        }

        private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}

public sealed record MemorySample(
    long WorkingSetBytes, long GcHeapBytes, long GcCommittedBytes, long Activations, Dictionary<string, long> ActivationsByType,
    double GcPauseMsBefore, double GcPauseMsAfter, int[] GcCollectionsBefore, int[] GcCollectionsAfter, long JitMethods, double JitMs)
{
    /// <summary>The collections (gen0, gen1, gen2; each count includes the higher generations') and pause time between an earlier reading's end and this one's start (zeros for a result written before these figures existed).</summary>
    public (int[] Collections, double PauseMs) GcSince(MemorySample earlier) =>
        ((GcCollectionsBefore ?? [0, 0, 0]).Zip(earlier.GcCollectionsAfter ?? [0, 0, 0], (now, then) => now - then).ToArray(), GcPauseMsBefore - earlier.GcPauseMsAfter);
}

public sealed record PassResult(
    int Requests, int Errors, double Seconds, double RequestsPerSecond, double P50Ms, double P99Ms, double MaxMs,
    double ServerCpuMsPerRequest, double PostgresCpuMsPerRequest, double OtherCpuPercent, Dictionary<string, int> ErrorReasons);

public sealed record IdleCpu(double ServerPercent, double PostgresPercent, double OtherPercent);

public sealed record BigTenantCold(int Customers, double FirstMs, double SecondMs, int FirstStatus, int SecondStatus);

public sealed record TenantScaleResult(
    int Tenants, int CustomersPerTenant, int WarmUpTenants, int Connections, double SeedSeconds, double CollectionAgeSeconds,
    MemorySample Start, MemorySample BeforeCold, MemorySample AfterCold, MemorySample Collected, double CollectedAfterSeconds,
    PassResult Cold, PassResult Warm, IdleCpu IdleBefore, IdleCpu IdleActive, IReadOnlyList<BigTenantCold> BigTenants,
    IReadOnlyList<ScenarioResult> Lists)
{
    public static TenantScaleResult? Load(string? path) =>
        path is null || !File.Exists(path) ? null : JsonSerializer.Deserialize<TenantScaleResult>(File.ReadAllText(path), BenchState.Json);
}
