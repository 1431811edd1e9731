using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace Shohayota.Load;

/// <summary>
/// Tenants through the API (as an operator would), customers in bulk straight into the table (one
/// INSERT … SELECT generate_series per tenant, as the superuser), then a few hundred customers through the API
/// per tenant so the read scenarios have ids whose rows went the whole normal way.
/// </summary>
public static class Seeder
{
    private const string AdminPassword = "Bench-Admin-Password-1";

    private static readonly string[] HotTags = ["hot", "bench"];

    private static readonly string[] Companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"];

    public static async Task RunAsync(CommandLine options)
    {
        var tenantCount = options.GetInt("tenants");
        var customers = options.GetInt("customers");
        var big = options.GetInt("big");
        var hot = options.GetInt("hot");
        var postgresDirectory = options.Get("pg-dir");
        var superEmail = options.Get("super-email");
        var superPassword = options.Get("super-password");
        var planName = options.Get("plan");

        using var http = new HttpClient { BaseAddress = new Uri(options.Get("api")), Timeout = TimeSpan.FromMinutes(2) };
        var api = new ApiClient(http);
        var superToken = await api.LoginAsync(superEmail, superPassword);

        var clock = Stopwatch.StartNew();
        var plans = Enumerable.Range(1, tenantCount).Select(i => (Name: $"Bench Tenant {i:D2}", Slug: $"t{i:D2}", Customers: customers))
            .Append((Name: "Bench Big Tenant", Slug: "big", Customers: big))
            .ToList();
        var provisioned = new ConcurrentDictionary<string, (Guid Id, string AdminEmail)>(StringComparer.Ordinal);
        // Two at a time: each provisioning hashes the admin's password (PBKDF2), one core each.
        await Parallel.ForEachAsync(plans, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (plan, _) =>
        {
            var adminEmail = $"admin@{plan.Slug}.bench.example.com";
            var tenant = await api.PostAsync("/api/admin/tenants/provision", superToken, new
            {
                name = plan.Name,
                contactEmail = $"contact@{plan.Slug}.bench.example.com",
                adminName = $"{plan.Name} Admin",
                adminEmail,
                adminPassword = AdminPassword,
                plan = planName,
            });
            provisioned[plan.Slug] = (tenant.GetProperty("id").GetGuid(), adminEmail);
        });
        var provisionSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  provisioned {plans.Count} tenants in {provisionSeconds:F1} s");

        clock.Restart();
        long rows = 0;
        var seededAt = DateTimeOffset.UtcNow.AddHours(-1);
        await using (var dataSource = NpgsqlDataSource.Create(BenchDatabase.SuperuserConnectionString(postgresDirectory, options.GetInt("pg-port"), 4)))
        {
            foreach (var plan in plans)
            {
                rows += await BulkInsertAsync(dataSource, provisioned[plan.Slug].Id, plan.Slug, plan.Customers, seededAt);
            }

            var bulkSeconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"  bulk-inserted {rows:N0} customers in {bulkSeconds:F1} s ({rows / bulkSeconds:N0} rows/s)");

            clock.Restart();
            await using (var analyze = dataSource.CreateCommand("VACUUM (ANALYZE) customers"))
            {
                await analyze.ExecuteNonQueryAsync();
            }

            var analyzeSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var tenants = new List<SeededTenant>();
            var created = 0;
            foreach (var (plan, index) in plans.Select((p, i) => (p, i)))
            {
                var (id, adminEmail) = provisioned[plan.Slug];
                // The first tenant is S1's and S2's: it gets the full hot set; the others share S7's reads.
                var count = index == 0 ? hot : Math.Max(16, hot / 4);
                var hotIds = await CreateThroughApiAsync(api, await api.LoginAsync(adminEmail, AdminPassword), plan.Slug, count);
                created += hotIds.Count;
                tenants.Add(new SeededTenant(id, plan.Name, adminEmail, AdminPassword, plan.Customers, hotIds));
            }

            var apiSeconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"  created {created} customers through the API in {apiSeconds:F1} s");

            var state = new BenchState(planName, superEmail, superPassword, tenants[..^1], tenants[^1],
                new SeedTimings(provisionSeconds, bulkSeconds, rows, analyzeSeconds, apiSeconds, created));
            await File.WriteAllTextAsync(options.Get("out"), JsonSerializer.Serialize(state, BenchState.Json));
        }
    }

    private static async Task<long> BulkInsertAsync(NpgsqlDataSource dataSource, Guid tenantId, string slug, int count, DateTimeOffset seededAt)
    {
        // Rows as sql/0020_customers.sql wants them: names 1–200 chars, a valid status, tags an array; one second apart
        // so every keyset index has a real order. The superuser bypasses RLS, which is why seeding may write here.
        const string sql = """
            INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(),
                   'Customer ' || g,
                   'customer' || g || '@' || $2,
                   '+1-555-' || lpad((g % 10000)::text, 4, '0'),
                   ($3::text[])[1 + g % 10] || ' ' || (g % 997),
                   (ARRAY['lead', 'prospect', 'customer', 'churned'])[1 + g % 4],
                   ARRAY['tag' || (g % 20)],
                   CASE WHEN g % 5 = 0 THEN 'Met at the ' || g % 12 || 'th trade fair; follow up in spring.' END,
                   NULL,
                   $4 - g * interval '1 second',
                   $4 - g * interval '1 second',
                   1
            FROM generate_series(1, $5) AS g
            """;
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = $"{slug}.bench.example.com" });
        command.Parameters.Add(new NpgsqlParameter { Value = Companies });
        command.Parameters.Add(new NpgsqlParameter { Value = seededAt });
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<Guid>> CreateThroughApiAsync(ApiClient api, string token, string slug, int count)
    {
        var ids = new ConcurrentBag<Guid>();
        await Parallel.ForEachAsync(Enumerable.Range(1, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var customer = await api.PostAsync("/api/customers", token, new
            {
                name = $"Hot Customer {i}",
                email = $"hot{i}@{slug}.bench.example.com",
                company = Companies[i % Companies.Length],
                status = "customer",
                tags = HotTags,
                notes = "Created through the API by bench/Load seed.",
            });
            ids.Add(customer.GetProperty("id").GetGuid());
        });
        return [.. ids.Order()];
    }
}
