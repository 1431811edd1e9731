using System.Text;

namespace Shohayota.Load;

/// <summary>What S3 (and S11, S13) need beyond the seed: real cursors into the big tenant, walked once through the API.</summary>
public sealed record PagePlan(IReadOnlyList<string> DeepCursors, IReadOnlyList<string> SearchTerms, ContactPlan? Contacts = null, DealPlan? Deals = null);

/// <summary>S11's contacts of the big tenant: how many, and the deeper half of their keyset cursors (as S3b's).</summary>
public sealed record ContactPlan(int Contacts, IReadOnlyList<string> DeepCursors);

/// <summary>S13's deals of the big tenant: how many, and the deeper half of their keyset cursors (as S3b's).</summary>
public sealed record DealPlan(int Deals, IReadOnlyList<string> DeepCursors);

/// <summary>
/// The issue's scenarios and baselines as request factories. Every URI and header value is built before the
/// clock starts, so the load generator spends its time sending, not formatting. <paramref name="apiKeys"/>: the secrets
/// of the tenant API keys the phase created (S1k), by tenant.
/// </summary>
public sealed class ScenarioCatalog(
    BenchState state, Uri api, Uri? baseline, IReadOnlyDictionary<Guid, string> tokens, IReadOnlyDictionary<Guid, string> apiKeys,
    IReadOnlyDictionary<Guid, string> limitedKeys,
    PagePlan? pages, int signInConnections)
{
    public static readonly IReadOnlyList<string> All = ["B1", "B1b", "B2", "B3", "B4", "S1", "S1k", "S1r", "S2", "S3", "S11", "S13", "S4", "S12", "S5", "S5e", "S5e2", "S6", "S7", "S8", "S9"];

    private static readonly string[] Statuses = ["lead", "prospect", "customer", "churned"];

    public static bool NeedsTokens(string name) =>
        Family(name) is "B4" or "S1" or "S1k" or "S1r" or "S2" or "S3" or "S4" or "S5" or "S5e" or "S5e2" or "S7" or "S8" or "S9" or "S11" or "S12" or "S13";

    /// <summary>
    /// The name of the group a scenario belongs to: S3a–S3e → S3, B4a/B4b → B4, S11a/S11b → S11, S12a/S12b → S12,
    /// S13a–S13c → S13 (so <c>BENCH_SCENARIOS=S3a,S11a</c> measures single pages); any other name is its own.
    /// </summary>
    public static string Family(string name) =>
        name.Length > 2 && name[^1] is >= 'a' and <= 'z' && name[..^1] is "S3" or "B4" or "S11" or "S12" or "S13" ? name[..^1] : name;

    /// <summary>
    /// The scenarios a name stands for: one, except S3 (one per kind of page), B4 (its first and deep pages), S11 (the
    /// contacts' first and deep pages) and S13 (the deals' first and deep pages and the pipeline); a page's own name
    /// (S3a, B4b, S11a, S13c, …) stands for that page alone.
    /// </summary>
    public IReadOnlyList<Scenario> Create(string name)
    {
        var family = Family(name);
        IReadOnlyList<Scenario> group = family switch
        {
            "S3" => Pages(),
            "B4" => BaselinePages(),
            "S11" => ContactPages(),
            "S13" => DealPages(),
            _ => [CreateOne(name)],
        };
        return family == name ? group
            : group.Where(s => s.Name == name).ToList() is { Count: > 0 } one ? one
            : throw new ArgumentException($"Unknown scenario {name}; {family} has {string.Join(", ", group.Select(s => s.Name))}.");
    }

    private Scenario CreateOne(string name) => name switch
    {
        "B1" => BaselineRead(name, "bare Kestrel: a customer's JSON from an in-process cache", "b1"),
        "B1b" => BaselineRead(name, "B1 again, right after S1 (S1's ceiling: the mean of B1, right before S1, and B1b)", "b1"),
        "B2" => BaselineRead(name, "bare Kestrel + one Npgsql primary-key select", "b2"),
        "B3" => Creates(name, "bare Kestrel + one Npgsql transaction: customer row + audit-like row", Target.Baseline,
            new Uri(Baseline, $"b3/{state.Tenants[0].Id:D}/customers"), null),
        "S1" => HotReads(name, "GET /api/customers/{id}: hot ids, one tenant admin", [state.Tenants[0]]),
        "S1k" => HotReads(name, "S1 with a tenant API key (role tenant_admin, Authorization: Bearer shy_…) instead of the admin's JWT",
            [state.Tenants[0]], KeyBearer),
        "S1r" => HotReads(name, "S1k with a key that has its own rate limit (1,000,000 a minute, never reached): its bucket leased per node, a grain call about once a second",
            [state.Tenants[0]], t => "Bearer " + (limitedKeys.TryGetValue(t.Id, out var secret) ? secret : throw new InvalidOperationException("S1r needs its API key."))),
        "S2" => Creates(name, "POST /api/customers: one tenant admin", Target.Api,
            new Uri(api, "api/customers"), Bearer(state.Tenants[0])),
        "S5" => HotReads(name, "S1 with admission enforcement switched off (benchmark-only PUT /api/admin/benchmark/admission), right after S5e in the same process", [state.Tenants[0]]),
        "S5e" => HotReads(name, "S1 again, right before S5 in the same process (S5's baseline, with S5e2)", [state.Tenants[0]]),
        "S5e2" => HotReads(name, "S1 again, right after S5 in the same process (S5's baseline, with S5e)", [state.Tenants[0]]),
        "S6" => SignIns(name),
        "S7" => HotReads(name, $"S1-like reads over all {state.AllTenants.Count()} tenants' admins at once", [.. state.AllTenants]),
        "S8" => Creates(name, "S2 against the Api started with Shohayota:Benchmark:AuditOff=true (no audit entry)", Target.Api,
            new Uri(api, "api/customers"), Bearer(state.Tenants[0])),
        _ => throw new ArgumentException($"Unknown scenario {name}; known: {string.Join(", ", All)}."),
    };

    private Uri Baseline => baseline ?? throw new ArgumentException("--baseline is required for the B scenarios.");

    private string Bearer(SeededTenant tenant) => "Bearer " + tokens[tenant.Id];

    private string KeyBearer(SeededTenant tenant) =>
        "Bearer " + (apiKeys.TryGetValue(tenant.Id, out var secret) ? secret : throw new InvalidOperationException("S1k needs its API key."));

    /// <summary>Reads of the tenants' hot ids, each worker as one tenant; <paramref name="bearer"/>: the admin's JWT unless given.</summary>
    private Scenario HotReads(string name, string title, IReadOnlyList<SeededTenant> tenants, Func<SeededTenant, string>? bearer = null)
    {
        var uris = tenants.Select(t => t.HotIds.Select(id => new Uri(api, $"api/customers/{id:D}")).ToArray()).ToArray();
        var bearers = tenants.Select(bearer ?? Bearer).ToArray();
        return new Scenario(name, title, Target.Api, (worker, sequence) =>
        {
            var tenant = worker % tenants.Count;
            var ids = uris[tenant];
            var message = new HttpRequestMessage(HttpMethod.Get, ids[(int)((worker * 31 + sequence) % ids.Length)]);
            message.Headers.TryAddWithoutValidation("Authorization", bearers[tenant]);
            return message;
        });
    }

    private Scenario BaselineRead(string name, string title, string route)
    {
        var tenant = state.Tenants[0];
        var uris = tenant.HotIds.Select(id => new Uri(Baseline, $"{route}/{tenant.Id:D}/customers/{id:D}")).ToArray();
        return new Scenario(name, title, Target.Baseline, (worker, sequence) =>
            new HttpRequestMessage(HttpMethod.Get, uris[(int)((worker * 31 + sequence) % uris.Length)]));
    }

    private static Scenario Creates(string name, string title, Target target, Uri uri, string? bearer) =>
        new(name, title, target, (worker, sequence) =>
        {
            var body = $$"""
                {"name":"Load Customer {{worker}}-{{sequence}}","email":"w{{worker}}s{{sequence}}@load.bench.example.com","company":"Globex {{sequence % 997}}","status":"lead","tags":["bench","load"],"notes":null}
                """;
            var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (bearer is not null)
            {
                message.Headers.TryAddWithoutValidation("Authorization", bearer);
            }

            return message;
        });

    /// <summary>S3's pages, each measured on its own so one slow kind of page does not hide the cost of the others.</summary>
    private IReadOnlyList<Scenario> Pages()
    {
        var plan = pages ?? throw new InvalidOperationException("S3 needs its page plan.");
        var big = state.BigTenant;
        var bearer = Bearer(big);
        Uri Page(string query) => new(api, "api/customers?pageSize=50" + query);
        var first = Page("");
        var deep = plan.DeepCursors.Select(c => Page("&cursor=" + Uri.EscapeDataString(c))).DefaultIfEmpty(first).ToArray();
        var search = plan.SearchTerms.Select(q => Page("&q=" + Uri.EscapeDataString(q))).ToArray();
        var status = Statuses.SelectMany(s => plan.DeepCursors.Take(25).Select(c => Page($"&status={s}&cursor={Uri.EscapeDataString(c)}"))
                .Prepend(Page($"&status={s}")))
            .ToArray();
        // S3f: a tag on 1 row in 1,000 (Seeder.RareTag), whose pages the tag's keys give (sql/0260); S3g: a tag on 1 row
        // in 20, whose pages the sort's walk finds. First pages and 25 deep cursors each.
        Uri[] Tagged(string tag) => plan.DeepCursors.Take(25).Select(c => Page($"&tag={tag}&cursor={Uri.EscapeDataString(c)}"))
            .Prepend(Page($"&tag={tag}"))
            .ToArray();
        var of = $"on the {big.Customers:N0}-customer tenant";
        return
        [
            PageScenario("S3a", $"GET /api/customers first page (50, newest first) {of}", [first], bearer),
            PageScenario("S3b", $"GET /api/customers deep keyset pages (cursor from the older half) {of}", deep, bearer),
            PageScenario("S3c", $"GET /api/customers?q= search ({string.Join(", ", plan.SearchTerms.Select(t => $"“{t}”"))}) {of}, {SearchConnections} connections", search, bearer, SearchConnections, [.. plan.SearchTerms]),
            PageScenario("S3d", $"GET /api/customers?status= filter, first and deep pages {of}", status, bearer),
            PageScenario("S3f", $"GET /api/customers?tag= a tag on 1 row in 1,000 (“{Seeder.RareTag}”), first and deep pages {of}", Tagged(Seeder.RareTag), bearer),
            PageScenario("S3g", $"GET /api/customers?tag= a tag on 1 row in 20 (“tag7”), first and deep pages {of}", Tagged("tag7"), bearer),
            SearchOnOwnRows(),
        ];
    }

    /// <summary>
    /// S11 (issue 14: a contacts list page within 1.2× of the customers list page): S3a's and S3b's pages on the big
    /// tenant's contacts, at the same connections; the report sets S11a against S3a and S11b against S3b.
    /// </summary>
    private IReadOnlyList<Scenario> ContactPages()
    {
        var plan = pages?.Contacts ?? throw new InvalidOperationException("S11 needs the big tenant's contacts and their cursors.");
        var bearer = Bearer(state.BigTenant);
        Uri Page(string query) => new(api, "api/contacts?pageSize=50" + query);
        var first = Page("");
        var deep = plan.DeepCursors.Select(c => Page("&cursor=" + Uri.EscapeDataString(c))).DefaultIfEmpty(first).ToArray();
        var of = $"on the big tenant's {plan.Contacts:N0} contacts";
        return
        [
            PageScenario("S11a", $"GET /api/contacts first page (50, newest first) {of}", [first], bearer),
            PageScenario("S11b", $"GET /api/contacts deep keyset pages (cursor from the older half) {of}", deep, bearer),
        ];
    }

    /// <summary>
    /// S13 (issue 14): S3a's and S3b's pages on the big tenant's deals (S13a, S13b; the report sets them against S3a and
    /// S3b: within 1.2×), and <c>GET /api/pipeline</c> (S13c: every stage with its count and sums per currency, over
    /// all the tenant's deals) at <see cref="PipelineConnections"/> connections (target p99 ≤ 50 ms).
    /// </summary>
    private IReadOnlyList<Scenario> DealPages()
    {
        var plan = pages?.Deals ?? throw new InvalidOperationException("S13 needs the big tenant's deals and their cursors.");
        var bearer = Bearer(state.BigTenant);
        Uri Page(string query) => new(api, "api/deals?pageSize=50" + query);
        var first = Page("");
        var deep = plan.DeepCursors.Select(c => Page("&cursor=" + Uri.EscapeDataString(c))).DefaultIfEmpty(first).ToArray();
        var of = $"on the big tenant's {plan.Deals:N0} deals";
        return
        [
            PageScenario("S13a", $"GET /api/deals first page (50, newest first) {of}", [first], bearer),
            PageScenario("S13b", $"GET /api/deals deep keyset pages (cursor from the older half) {of}", deep, bearer),
            PageScenario("S13c", $"GET /api/pipeline (stages, counts and sums per currency) {of}, {PipelineConnections} connections",
                [new Uri(api, "api/pipeline")], bearer, PipelineConnections),
        ];
    }

    /// <summary>Connections of the search scenarios S3c and S3e (issue 17: p99 targets at 16 connections).</summary>
    public const int SearchConnections = 16;

    /// <summary>Connections of S13c, the pipeline summary (issue 14: p99 ≤ 50 ms at 16 connections).</summary>
    public const int PipelineConnections = 16;

    /// <summary>
    /// The search box's terms for a tenant of <paramref name="customers"/> bulk-seeded rows: broad (a company on every
    /// tenth row), medium (a company and number), selective (one name, one e-mail) and the API-created rows.
    /// </summary>
    public static string[] SearchTerms(int customers) =>
        ["globex", "umbrella 12", $"customer {customers / 3}", $"customer{customers / 2}@", "hot customer"];

    /// <summary>S3e: S3c's searches on a 10,000-customer tenant while the big one exists: the cost must follow its own rows.</summary>
    private Scenario SearchOnOwnRows()
    {
        var tenant = state.Tenants[Math.Min(1, state.Tenants.Count - 1)];
        var terms = SearchTerms(tenant.Customers);
        var uris = terms.Select(q => new Uri(api, "api/customers?pageSize=50&q=" + Uri.EscapeDataString(q))).ToArray();
        return PageScenario("S3e",
            $"GET /api/customers?q= search ({string.Join(", ", terms.Select(t => $"“{t}”"))}) on a {tenant.Customers:N0}-customer tenant beside the {state.BigTenant.Customers:N0}-customer one, {SearchConnections} connections",
            uris, Bearer(tenant), SearchConnections, terms);
    }

    /// <summary>B4: S3a's first page and S3b's deep keyset pages from the baseline host (same query and index, superuser, no RLS).</summary>
    private IReadOnlyList<Scenario> BaselinePages()
    {
        var plan = pages ?? throw new InvalidOperationException("B4 needs S3's page plan.");
        var big = state.BigTenant;
        var route = $"b4/{big.Id:D}/customers";
        var first = new Uri(Baseline, route);
        var deep = plan.DeepCursors.Select(c =>
            {
                using var cursor = System.Text.Json.JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(c));
                var at = cursor.RootElement.GetProperty("A").GetDateTimeOffset().ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
                return new Uri(Baseline, $"{route}?at={Uri.EscapeDataString(at)}&id={cursor.RootElement.GetProperty("I").GetGuid():D}");
            })
            .DefaultIfEmpty(first)
            .ToArray();
        return
        [
            BaselinePage("B4a", "bare Kestrel + S3a's page query: first page (50, newest first) of the big tenant", [first]),
            BaselinePage("B4b", "bare Kestrel + S3b's page query: deep keyset pages of the big tenant", deep),
        ];
    }

    private static Scenario BaselinePage(string name, string title, Uri[] uris) =>
        new(name, title, Target.Baseline, (worker, sequence) => new HttpRequestMessage(HttpMethod.Get, uris[(int)((worker * 7 + sequence) % uris.Length)]));

    private static Scenario PageScenario(string name, string title, Uri[] uris, string bearer, int? connections = null, string[]? kinds = null) =>
        new(name, title, Target.Api, (worker, sequence) =>
        {
            var message = new HttpRequestMessage(HttpMethod.Get, uris[Kind(worker, sequence, uris.Length)]);
            message.Headers.TryAddWithoutValidation("Authorization", bearer);
            return message;
        }, connections)
        {
            Kinds = kinds is null ? null : (kinds, (worker, sequence) => Kind(worker, sequence, uris.Length)),
        };

    private static int Kind(int worker, long sequence, int kinds) => (int)((worker * 7 + sequence) % kinds);

    private Scenario SignIns(string name)
    {
        var uri = new Uri(api, "api/auth/login");
        var bodies = state.AllTenants.Select(t => $$"""{"email":"{{t.AdminEmail}}","password":"{{t.AdminPassword}}"}""").ToArray();
        // Few connections: each sign-in is 0.15–0.25 s of one core here (PBKDF2), so a handful per core keeps the CPU busy without
        // turning the latency into a queue.
        return new Scenario(name,
            $"POST /api/auth/login: {bodies.Length} tenant admins in turn (PBKDF2, 210,000 iterations; {signInConnections} connections)",
            Target.Api,
            (worker, sequence) => new HttpRequestMessage(HttpMethod.Post, uri)
            {
                Content = new StringContent(bodies[(worker + sequence) % bodies.Length], Encoding.UTF8, "application/json"),
            },
            signInConnections)
        {
            WarmUntilSteady = false,
        };
    }
}
