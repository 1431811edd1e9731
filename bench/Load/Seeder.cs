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
/// that the scenarios before it (S4's export above all) see the tenant as it was; S13's deals too (<see cref="SeedDealsAsync"/>).
/// </summary>
public static class Seeder
{
    /// <summary>The tag bulk-seeded customers have on one row in 1,000 (S3f), beside "tag0" … "tag19" on one in 20 each.</summary>
    public const string RareTag = "rare";

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
        const string sql = $$"""
            INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(),
                   'Customer ' || g,
                   'customer' || g || '@' || $2,
                   '+1-555-' || lpad((g % 10000)::text, 4, '0'),
                   ($3::text[])[1 + g % 10] || ' ' || (g % 997),
                   (ARRAY['lead', 'prospect', 'customer', 'churned'])[1 + g % 4],
                   ARRAY['tag' || (g % 20)] || CASE WHEN g % 1000 = 0 THEN ARRAY['{{RareTag}}'] ELSE '{}' END,
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

    private static readonly string[] DealKinds = ["Renewal", "Expansion", "New licences", "Pilot", "Support plan", "Migration", "Training", "Hardware refresh"];

    /// <summary>S13's currencies: 13 slots, so EUR ≈ 46 %, USD ≈ 38 %, GBP ≈ 15 % (13 is prime to the 20 stage slots: every pair occurs).</summary>
    private static readonly string[] DealCurrencies = ["EUR", "USD", "EUR", "GBP", "USD", "EUR", "USD", "EUR", "USD", "GBP", "EUR", "USD", "EUR"];

    /// <summary>The pipeline a tenant gets on first use (DealRules.DefaultStages): name, kind, probability.</summary>
    private static readonly (string Name, string Kind, int Probability)[] DefaultStages =
        [("Lead", "open", 10), ("Qualified", "open", 25), ("Proposal", "open", 50), ("Negotiation", "open", 75), ("Won", "won", 100), ("Lost", "lost", 0)];

    /// <summary>
    /// The id PipelineGrain.DefaultStageId gives a tenant's default stage <paramref name="index"/> (RecordIds.ForIdempotencyKey,
    /// SHA-256 name-based), so a seeded tenant's pipeline is the one the grain would have created; any other id would work too.
    /// </summary>
    private static Guid DefaultStageId(Guid tenantId, int index)
    {
        var text = System.Text.Encoding.UTF8.GetBytes($"shohayota/pipeline-stage-create/{tenantId:N}/{Guid.Empty:N}/{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        Span<byte> bytes = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(text, bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes[..16], bigEndian: true);
    }

    /// <summary>
    /// S13's deals: <paramref name="count"/> rows for <paramref name="tenant"/> in one <c>INSERT … SELECT generate_series</c> as
    /// the superuser (as contacts are seeded). The tenant's pipeline first: a tenant without stages gets the default six, in
    /// SQL too, so that its <c>PipelineGrain</c> first activates after the seeding (a grain that cached the stages or totals
    /// before would not see rows written behind it). The deals are spread over the stages in order (the open ones each
    /// fewer than the one before, then won and lost;
    /// with the defaults Lead 25 %, Qualified 20 %, Proposal 15 %, Negotiation 10 %, Won 15 %, Lost 15 %), in EUR, USD and GBP,
    /// amounts from 500 to about 250,000 (a quarter of them round thousands), created 15 minutes apart, newest first; open
    /// deals expect to close 30–150 days after creation (every ninth has no date), closed ones closed 1–90 days after it
    /// (never later than the seeding). The n-th deal belongs to the (1 + 3(n − 1) mod customers)-th customer, newest first;
    /// four in ten then get their customer's contacts (one each as S11 seeds them) in <c>deal_contacts</c>. Then
    /// <c>VACUUM (ANALYZE)</c> of both tables. Seeds nothing if the tenant already has deals.
    /// </summary>
    public static async Task<DealSeed> SeedDealsAsync(string postgresDirectory, int port, SeededTenant tenant, int count)
    {
        await using var dataSource = NpgsqlDataSource.Create(BenchDatabase.SuperuserConnectionString(postgresDirectory, port, 2));
        await using (var existing = dataSource.CreateCommand("SELECT count(*)::int FROM deals WHERE tenant_id = $1"))
        {
            existing.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            if ((int)(await existing.ExecuteScalarAsync())! is > 0 and var already)
            {
                return new DealSeed(already, 0, 0, 0, 0, Existing: true);
            }
        }

        const string defaultStages = """
            INSERT INTO pipeline_stages (tenant_id, id, position, name, kind, probability)
            SELECT $1, s.id, s.position, s.name, s.kind, s.probability
            FROM unnest($2::uuid[], $3::integer[], $4::text[], $5::text[], $6::integer[]) AS s(id, position, name, kind, probability)
            WHERE NOT EXISTS (SELECT 1 FROM pipeline_stages WHERE tenant_id = $1)
            ON CONFLICT (tenant_id, id) DO NOTHING
            """;
        await using (var command = dataSource.CreateCommand(defaultStages))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            command.Parameters.Add(new NpgsqlParameter { Value = DefaultStages.Select((_, i) => DefaultStageId(tenant.Id, i)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = DefaultStages.Select((_, i) => i).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = DefaultStages.Select(s => s.Name).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = DefaultStages.Select(s => s.Kind).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = DefaultStages.Select(s => s.Probability).ToArray() });
            await command.ExecuteNonQueryAsync();
        }

        var stages = new List<(Guid Id, string Kind)>();
        await using (var command = dataSource.CreateCommand("SELECT id, kind FROM pipeline_stages WHERE tenant_id = $1 ORDER BY position, id"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                stages.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        var slots = StageSlots(stages);
        // Rows as sql/0180_deals.sql wants them: status is the stage's kind, closed_at is set exactly when it is not open,
        // amounts have two decimals at most, currencies are ISO 4217. close_sort is generated.
        const string deals = """
            WITH owners AS MATERIALIZED (
                     SELECT id, name, row_number() OVER (ORDER BY created_at DESC, id DESC) AS n FROM customers WHERE tenant_id = $1),
                 total AS (SELECT nullif(count(*), 0) AS c FROM owners),
                 rows AS (
                     SELECT g, owners.id AS customer_id, owners.name AS customer_name,
                            ($2::uuid[])[1 + g % cardinality($2::uuid[])] AS stage_id,
                            ($3::text[])[1 + g % cardinality($3::text[])] AS status,
                            $6 - g * interval '15 minutes' AS created_at,
                            500 + (g::bigint * 7919 % 99991) * 2.4975 AS amount
                     FROM generate_series(1, $7) AS g
                     CROSS JOIN total
                     JOIN owners ON owners.n = 1 + 3 * (g - 1) % total.c),
                 closing AS (
                     SELECT rows.*, CASE WHEN status <> 'open' THEN least(created_at + (1 + g % 90) * interval '1 day', $6) END AS closed_at
                     FROM rows)
            INSERT INTO deals (tenant_id, id, name, customer_id, amount, currency, stage_id, status, expected_close_date, owner_user_id,
                               closed_at, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(),
                   left(($4::text[])[1 + g % cardinality($4::text[])] || ' for ' || customer_name, 200),
                   customer_id,
                   CASE WHEN g % 4 = 0 THEN round(amount, -3) ELSE round(amount, 2) END,
                   ($5::text[])[1 + g % cardinality($5::text[])],
                   stage_id,
                   status,
                   CASE WHEN closed_at IS NOT NULL THEN closed_at::date
                        WHEN g % 9 <> 0 THEN (created_at + (30 + g % 121) * interval '1 day')::date END,
                   NULL,
                   closed_at,
                   created_at,
                   coalesce(closed_at, least(created_at + (g % 20) * interval '1 day', $6)),
                   1 + g % 3
            FROM closing
            """;
        // The contacts of each deal's customer (the n-th deal newest first, as above), for four deals in ten.
        const string links = """
            WITH numbered AS (
                     SELECT id, customer_id, row_number() OVER (ORDER BY created_at DESC, id DESC) AS g FROM deals WHERE tenant_id = $1),
                 people AS (
                     SELECT id, customer_id FROM contacts WHERE tenant_id = $1)
            INSERT INTO deal_contacts (tenant_id, deal_id, contact_id)
            SELECT $1, numbered.id, people.id
            FROM numbered JOIN people ON people.customer_id = numbered.customer_id
            WHERE numbered.g % 10 < 4
            """;
        const string copies = """
            UPDATE deals d SET contact_ids = l.ids
            FROM (SELECT deal_id, array_agg(contact_id ORDER BY contact_id) AS ids FROM deal_contacts WHERE tenant_id = $1 GROUP BY deal_id) AS l
            WHERE d.tenant_id = $1 AND d.id = l.deal_id
            """;
        // Replica mode skips the foreign keys' triggers, so this checks what they would have: a stage of the tenant with
        // the deal's status as its kind, a customer of the tenant.
        const string check = """
            SELECT count(*)::int FROM deals d
            WHERE d.tenant_id = $1
              AND (NOT EXISTS (SELECT 1 FROM pipeline_stages s WHERE s.tenant_id = d.tenant_id AND s.id = d.stage_id AND s.kind = d.status)
                   OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = d.tenant_id AND c.id = d.customer_id))
            """;
        var clock = Stopwatch.StartNew();
        long rows;
        long linked;
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            // As for contacts: every reference comes from a join on the tenant's own rows, and the foreign keys' per-row
            // FOR KEY SHARE locks would rewrite the customers' and contacts' rows (xmax) that S3 and S11 read.
            await using (var replica = new NpgsqlCommand("SET LOCAL session_replication_role = replica", connection, transaction))
            {
                await replica.ExecuteNonQueryAsync();
            }

            await using (var command = new NpgsqlCommand(deals, connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
                command.Parameters.Add(new NpgsqlParameter { Value = slots.Select(s => s.Id).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = slots.Select(s => s.Kind).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = DealKinds });
                command.Parameters.Add(new NpgsqlParameter { Value = DealCurrencies });
                command.Parameters.Add(new NpgsqlParameter { Value = DateTimeOffset.UtcNow.AddHours(-1) });
                command.Parameters.Add(new NpgsqlParameter { Value = count });
                rows = await command.ExecuteNonQueryAsync();
            }

            await using (var command = new NpgsqlCommand(links, connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
                linked = await command.ExecuteNonQueryAsync();
            }

            // The rows' copy of their links (sql/0180), in uuid order, as the deal grain writes it.
            await using (var command = new NpgsqlCommand(copies, connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
                await command.ExecuteNonQueryAsync();
            }

            await using (var command = new NpgsqlCommand(check, connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
                if ((int)(await command.ExecuteScalarAsync())! is > 0 and var wrong)
                {
                    throw new InvalidOperationException($"{wrong} seeded deals name no stage of that kind or no customer of the tenant; nothing was seeded.");
                }
            }

            await transaction.CommitAsync();
        }

        var insertSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await using (var analyze = dataSource.CreateCommand("VACUUM (ANALYZE) deals, deal_contacts"))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        return new DealSeed((int)rows, (int)linked, stages.Count, insertSeconds, clock.Elapsed.TotalSeconds, Existing: false);
    }

    /// <summary>
    /// Twenty slots over the stages (the n-th deal takes slot n mod their count): open stages in order, each one slot fewer than the one
    /// before and the last two; the closed ones share the rest (the defaults: 5, 4, 3, 2 open, 3 won, 3 lost).
    /// </summary>
    private static List<(Guid Id, string Kind)> StageSlots(IReadOnlyList<(Guid Id, string Kind)> stages)
    {
        var open = stages.Where(s => s.Kind == "open").ToList();
        var closed = stages.Where(s => s.Kind != "open").ToList();
        var slots = open.SelectMany((s, i) => Enumerable.Repeat(s, Math.Max(1, open.Count + 1 - i))).ToList();
        for (var i = 0; closed.Count > 0 && slots.Count < 20; i++)
        {
            slots.Add(closed[i % closed.Count]);
        }

        return slots.Count > 0 ? slots : throw new InvalidOperationException("The pipeline has no stages.");
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

/// <summary>
/// S13's deals of the big tenant: how many, how many contact links, over how many stages, how long the insert and the
/// <c>VACUUM (ANALYZE)</c> took (0 if they already existed).
/// </summary>
public sealed record DealSeed(int Rows, int ContactLinks, int Stages, double InsertSeconds, double AnalyzeSeconds, bool Existing);
