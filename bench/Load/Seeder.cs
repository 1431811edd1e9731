using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace Shohayota.Load;

/// <summary>
/// Tenants through the API (as an operator would), customers in bulk straight into the table (one
/// INSERT … SELECT generate_series per tenant, as the superuser), then a few hundred customers through the API
/// per tenant so the read scenarios have ids whose rows went the whole normal way. S11's contacts of the big tenant are
/// seeded the same way, but by the run phase that measures S11, right before it (<see cref="SeedContactsAsync"/>), so
/// that the scenarios before it (S4's export above all) see the tenant as it was.
/// </summary>
public static class Seeder
{
    public const string AdminPassword = "Bench-Admin-Password-1";

    private static readonly string[] HotTags = ["hot", "bench"];

    internal static readonly string[] Companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"];

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
            provisioned[plan.Slug] = await ProvisionAsync(api, superToken, plan.Name, plan.Slug, planName));
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

    /// <summary>
    /// One tenant through <c>POST /api/admin/tenants/provision</c> as the super-admin, its admin signing in with
    /// <see cref="AdminPassword"/> at <c>admin@{slug}.bench.example.com</c> (S12a's import tenant is provisioned so too).
    /// </summary>
    public static async Task<(Guid Id, string AdminEmail)> ProvisionAsync(ApiClient api, string superToken, string name, string slug, string plan)
    {
        var adminEmail = $"admin@{slug}.bench.example.com";
        var tenant = await api.PostAsync("/api/admin/tenants/provision", superToken, new
        {
            name,
            contactEmail = $"contact@{slug}.bench.example.com",
            adminName = $"{name} Admin",
            adminEmail,
            adminPassword = AdminPassword,
            plan,
        });
        return (tenant.GetProperty("id").GetGuid(), adminEmail);
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

    internal static readonly string[] FirstNames =
        ["Alice", "Bruno", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Keiko", "Liam",
         "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Yusuf"];

    internal static readonly string[] LastNames =
        ["Anderson", "Brown", "Costa", "Dubois", "Eriksson", "Fischer", "García", "Hansen", "Ivanova", "Jensen", "Kowalski",
         "Lopez", "Müller", "Nakamura", "O'Brien", "Petrov", "Quist", "Rossi", "Schmidt", "Tanaka", "Urban", "Virtanen",
         "Wagner", "Yamamoto", "Zhang"];

    private static readonly string[] Titles = ["CEO", "CFO", "Head of Sales", "Purchasing Manager", "IT Director", "Office Manager", "Engineer"];

    /// <summary>
    /// S11's contacts: <paramref name="count"/> rows for <paramref name="tenant"/> in one <c>INSERT … SELECT generate_series</c>
    /// as the superuser (as customers are seeded), each linked to one of the tenant's customers (the n-th contact, newest
    /// first, to the ((n − 1) mod customers + 1)-th customer, newest first: a hash join on the row number), created one second
    /// apart like customers, then <c>VACUUM (ANALYZE) contacts</c>. Seeds nothing if the tenant already has contacts.
    /// </summary>
    public static async Task<ContactSeed> SeedContactsAsync(string postgresDirectory, int port, SeededTenant tenant, string slug, int count)
    {
        await using var dataSource = NpgsqlDataSource.Create(BenchDatabase.SuperuserConnectionString(postgresDirectory, port, 2));
        await using (var existing = dataSource.CreateCommand("SELECT count(*)::int FROM contacts WHERE tenant_id = $1"))
        {
            existing.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            if ((int)(await existing.ExecuteScalarAsync())! is > 0 and var already)
            {
                return new ContactSeed(already, 0, 0, Existing: true);
            }
        }

        // Rows as sql/0170_contacts.sql wants them (names 1–100 chars, tags an array); sort_name and search_text are generated.
        const string sql = """
            WITH owners AS MATERIALIZED (
                     SELECT id, row_number() OVER (ORDER BY created_at DESC, id DESC) AS n FROM customers WHERE tenant_id = $1),
                 total AS (SELECT nullif(count(*), 0) AS c FROM owners)
            INSERT INTO contacts (tenant_id, id, first_name, last_name, email, phone, title, customer_id, owner_user_id, tags, notes, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(),
                   ($3::text[])[1 + g % cardinality($3::text[])],
                   ($4::text[])[1 + (g / cardinality($3::text[])) % cardinality($4::text[])],
                   lower(($3::text[])[1 + g % cardinality($3::text[])]) || '.' || g || '@' || $2,
                   '+1-555-' || lpad((g * 7 % 10000)::text, 4, '0'),
                   ($5::text[])[1 + g % cardinality($5::text[])],
                   owners.id,
                   NULL,
                   ARRAY[(ARRAY['decision-maker', 'billing', 'technical', 'champion'])[1 + g % 4]],
                   CASE WHEN g % 7 = 0 THEN 'Met at the ' || g % 12 || 'th trade fair; send the spring catalogue.' END,
                   $6 - g * interval '1 second',
                   $6 - g * interval '1 second',
                   1
            FROM generate_series(1, $7) AS g
            CROSS JOIN total
            JOIN owners ON owners.n = 1 + (g - 1) % total.c
            """;
        var clock = Stopwatch.StartNew();
        long rows;
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            // The join makes every customer_id one of the tenant's, so the foreign key's per-row check is skipped
            // (replica mode: no RI triggers): it would take a FOR KEY SHARE lock on each customer, rewriting the
            // customers' rows (xmax) that S3 reads, and slow the insert down (about 9 s instead of 5 for 100,000 here).
            await using (var replica = new NpgsqlCommand("SET LOCAL session_replication_role = replica", connection, transaction))
            {
                await replica.ExecuteNonQueryAsync();
            }

            await using var command = new NpgsqlCommand(sql, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            command.Parameters.Add(new NpgsqlParameter { Value = $"{slug}.bench.example.com" });
            command.Parameters.Add(new NpgsqlParameter { Value = FirstNames });
            command.Parameters.Add(new NpgsqlParameter { Value = LastNames });
            command.Parameters.Add(new NpgsqlParameter { Value = Titles });
            command.Parameters.Add(new NpgsqlParameter { Value = DateTimeOffset.UtcNow.AddHours(-1) });
            command.Parameters.Add(new NpgsqlParameter { Value = count });
            rows = await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        var insertSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await using (var analyze = dataSource.CreateCommand("VACUUM (ANALYZE) contacts"))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        return new ContactSeed((int)rows, insertSeconds, clock.Elapsed.TotalSeconds, Existing: false);
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

/// <summary>S11's contacts of the big tenant: how many, how long the insert and the <c>VACUUM (ANALYZE)</c> took (0 if they already existed).</summary>
public sealed record ContactSeed(int Rows, double InsertSeconds, double AnalyzeSeconds, bool Existing);
