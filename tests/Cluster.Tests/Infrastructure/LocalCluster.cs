using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.TestSupport;

namespace Shohayota.Cluster.Tests.Infrastructure;

/// <summary>
/// Several real nodes (processes) of one cluster on one private PostgreSQL: one ClusterId and ServiceId per cluster,
/// one signing key, one caller key, one UI key-encryption key and one bootstrapped super-admin for all. Disposing kills
/// every node, then stops the database.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    public const string SuperAdminPassword = "cluster-super-admin-password";
    public static readonly string SigningKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("cluster-test-signing-key-0123456789-abcdef"));

    /// <summary>Every node signs and verifies grain callers with it (each has a data directory of its own, so none may generate one).</summary>
    public static readonly string CallerKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("cluster-test-caller-key-0123456789-abcdefgh"));

    public static readonly string KeyEncryptionKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("cluster-test-ui-key-encryption-key-0123456789"));

    public static readonly string BundleKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("cluster-test-bundle-key-0123456789-abcdef"));
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly List<ClusterNode> _nodes = [];
    private string? _superAdminToken;

    private LocalCluster(TestDatabase database, bool durableCommits)
    {
        Database = database;
        // The throwaway test server runs with synchronous_commit off; an immediate stop then loses the last commits it
        // acknowledged. Tests that stop the server make the nodes' sessions wait for their commits, as production does.
        AppConnectionString = durableCommits
            ? new NpgsqlConnectionStringBuilder(database.AppConnectionString) { Options = "-c synchronous_commit=on" }.ConnectionString
            : database.AppConnectionString;
        var id = Guid.NewGuid().ToString("N")[..12];
        ClusterId = $"cluster-test-{id}";
        ServiceId = $"service-test-{id}";
        SuperAdminEmail = $"super-{id}@cluster.test";
    }

    public TestDatabase Database { get; }

    /// <summary>The runtime connection string the nodes get.</summary>
    public string AppConnectionString { get; }

    public string ClusterId { get; }

    public string ServiceId { get; }

    public string SuperAdminEmail { get; }

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    public static async Task<LocalCluster> CreateAsync(bool durableCommits = false) => new(await TestDatabase.StartAsync(), durableCommits);

    /// <summary>Starts nodes of the given kinds together and waits until each is ready.</summary>
    public Task<IReadOnlyList<ClusterNode>> StartAsync(params NodeKind[] kinds) => StartAsync([], kinds);

    /// <summary>Starts nodes of the given kinds together, each with the same further configuration arguments (<c>--Key=value</c>), and waits until each is ready.</summary>
    public async Task<IReadOnlyList<ClusterNode>> StartAsync(IEnumerable<string> arguments, params NodeKind[] kinds)
    {
        var started = kinds.Select(kind => Launch(kind, arguments)).ToList();
        await Task.WhenAll(started.Select(n => n.WaitUntilReadyAsync(StartTimeout)));
        return started;
    }

    public async Task<ClusterNode> StartAsync(NodeKind kind) => (await StartAsync([kind]))[0];

    /// <summary>Starts one node with further configuration arguments (<c>--Key=value</c>).</summary>
    public async Task<ClusterNode> StartAsync(NodeKind kind, IEnumerable<string> arguments)
    {
        var node = Launch(kind, arguments);
        await node.WaitUntilReadyAsync(StartTimeout);
        return node;
    }

    /// <summary>The name the next node will get.</summary>
    public string NextName(NodeKind kind) => $"{kind.ToString().ToLowerInvariant()}-{_nodes.Count + 1}";

    /// <summary>Starts one node without waiting until it is ready (for a node expected to refuse to start).</summary>
    public ClusterNode Launch(NodeKind kind, IEnumerable<string> extra)
    {
        var name = NextName(kind);
        var (http, silo, gateway) = (TestDatabase.FreePort(), TestDatabase.FreePort(), TestDatabase.FreePort());
        var dataDirectory = Path.Combine(Database.Directory, name);
        Directory.CreateDirectory(dataDirectory);
        var arguments = new List<string>
        {
            $"--ConnectionStrings:Shohayota={AppConnectionString}",
            $"--ConnectionStrings:ShohayotaAdmin={Database.AdminConnectionString}",
            $"--Shohayota:DataDirectory={dataDirectory}",
            $"--Shohayota:Auth:SigningKey={SigningKey}",
            $"--Shohayota:Cluster:CallerKeys={CallerKey}",
            $"--Shohayota:Ui:KeyEncryptionKey={KeyEncryptionKey}",
            $"--Shohayota:Backups:SigningKey={BundleKey}",
            $"--Shohayota:Bootstrap:SuperAdminEmail={SuperAdminEmail}",
            $"--Shohayota:Bootstrap:SuperAdminPassword={SuperAdminPassword}",
            $"--Shohayota:Cluster:ClusterId={ClusterId}",
            $"--Shohayota:Cluster:ServiceId={ServiceId}",
            $"--Shohayota:Cluster:SiloName={name}",
            $"--Shohayota:Cluster:SiloPort={silo}",
            $"--Shohayota:Cluster:GatewayPort={gateway}",
            // Schedules stay off: the tests must not wait on a backup or a retention purge.
            "--Shohayota:Backups:Enabled=false",
            "--Shohayota:Purge:Enabled=false",
            // Every test signs in from loopback: the per-address sign-in window (20 a minute by default) would refuse the suite.
            "--Shohayota:Auth:SignIn:AddressPermitLimit=1000000",
            // New passwords at the setting's floor (PBKDF2 at 100,000 iterations, half the default's CPU): the suite hashes a
            // password for every tenant it provisions and checks one at every sign-in.
            "--Shohayota:Auth:PasswordHashIterations=100000",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Shohayota.Silo=Information",
            // Who suspected whom, and when: the first thing to read when a node leaves a test cluster unexpectedly.
            "--Logging:LogLevel:Orleans.Runtime.MembershipService=Information",
        };
        if (kind != NodeKind.Silo)
        {
            arguments.Add($"--urls=http://127.0.0.1:{http}");
        }

        if (kind == NodeKind.Client)
        {
            arguments.Add("--Shohayota:Cluster:Mode=client");
        }

        arguments.AddRange(extra);
        var node = ClusterNode.Start(name, kind, arguments, Path.Combine(Database.Directory, name + ".log"), http, silo, gateway);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Every node's output, for failure messages.</summary>
    public string Output() => string.Join("\n", _nodes.Select(n => n.Output()));

    public async Task<string> SuperAdminTokenAsync(ClusterNode via) =>
        _superAdminToken ??= await LoginAsync(via, SuperAdminEmail, SuperAdminPassword);

    public static async Task<string> LoginAsync(ClusterNode via, string email, string password)
    {
        using var response = await via.Client.PostAsJsonAsync("/api/auth/login", new { email, password });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["accessToken"]!.GetValue<string>();
    }

    /// <summary>Provisions a tenant through <paramref name="via"/>, optionally overrides its customer quota, and signs its admin in.</summary>
    public async Task<ClusterTenant> ProvisionTenantAsync(ClusterNode via, string plan = "enterprise", long? customerQuota = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var adminEmail = $"admin-{suffix}@tenant-{suffix}.test";
        const string password = "tenant-admin-password";
        var superAdmin = await SuperAdminTokenAsync(via);
        using var provisioned = await SendAsync(via, HttpMethod.Post, "/api/admin/tenants/provision", superAdmin, new
        {
            name = $"Tenant {suffix}",
            contactEmail = $"contact@tenant-{suffix}.test",
            adminName = "Admin User",
            adminEmail,
            adminPassword = password,
            plan,
        });
        provisioned.EnsureSuccessStatusCode();
        var id = Guid.Parse((await provisioned.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        if (customerQuota is { } quota)
        {
            using var overridden = await SendAsync(via, HttpMethod.Put, $"/api/admin/tenants/{id}/quotas", superAdmin, new { customers = quota, reason = "cluster test" });
            overridden.EnsureSuccessStatusCode();
        }

        return new ClusterTenant(id, adminEmail, password, await LoginAsync(via, adminEmail, password), customerQuota);
    }

    public static async Task<HttpResponseMessage> SendAsync(ClusterNode via, HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await via.Client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> CreateCustomerAsync(ClusterNode via, ClusterTenant tenant, string name) =>
        SendAsync(via, HttpMethod.Post, "/api/customers", tenant.Token, new { name, email = $"{name}@customers.test" });

    /// <summary>Customer rows per tenant, read as an operator (superuser, no RLS): id and name.</summary>
    public async Task<List<(Guid Tenant, Guid Id, string Name)>> CustomerRowsAsync(IEnumerable<Guid> tenants)
    {
        await using var connection = new NpgsqlConnection(Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT tenant_id, id, name FROM customers WHERE tenant_id = ANY($1)", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = tenants.ToArray() });
        var rows = new List<(Guid, Guid, string)>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2)));
        }

        return rows;
    }

    /// <summary>How many audit entries of <paramref name="action"/> name each target, per tenant (operator view).</summary>
    public async Task<Dictionary<(Guid Tenant, string Target), long>> AuditCountsAsync(IEnumerable<Guid> tenants, string action)
    {
        await using var connection = new NpgsqlConnection(Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            "SELECT tenant_id, target_id, count(*) FROM audit_logs WHERE tenant_id = ANY($1) AND action = $2 GROUP BY tenant_id, target_id", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = tenants.ToArray() });
        select.Parameters.Add(new NpgsqlParameter { Value = action });
        var counts = new Dictionary<(Guid, string), long>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[(reader.GetGuid(0), reader.GetString(1))] = reader.GetInt64(2);
        }

        return counts;
    }

    /// <summary>GET /api/audit-logs/verify for the tenant, as its admin.</summary>
    public static async Task<JsonObject> VerifyAuditAsync(ClusterNode via, ClusterTenant tenant)
    {
        using var response = await SendAsync(via, HttpMethod.Get, "/api/audit-logs/verify", tenant.Token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await Database.DisposeAsync();
    }

    public static string Describe(HttpResponseMessage response, string body) =>
        string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType} {body}");
}

public sealed record ClusterTenant(Guid Id, string AdminEmail, string Password, string Token, long? CustomerQuota);
