using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shohayota.Api.Hosting;
using Shohayota.Grains.Security;
using Shohayota.TestSupport;

namespace Shohayota.Api.Tests.Infrastructure;

/// <summary>
/// The real front end with its co-hosted silo, on a free loopback port, against a real PostgreSQL.
/// One is shared by most tests (they isolate themselves by provisioning their own tenants).
/// </summary>
public sealed class ApiHost : IAsyncDisposable
{
    public const string SuperAdminPassword = "super-admin-password-for-tests";
    public static readonly string SigningKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("test-signing-key-test-signing-key-0123456789"));
    public static readonly string KeyEncryptionKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("test-ui-key-encryption-key-0123456789-abcdef"));

    /// <summary>The bundle key that signs exports and backups, and a previous one that still verifies (rotation).</summary>
    public static readonly byte[] BundleKey = System.Text.Encoding.UTF8.GetBytes("test-bundle-key-test-bundle-key-0123456789");
    public static readonly byte[] PreviousBundleKey = System.Text.Encoding.UTF8.GetBytes("previous-bundle-key-previous-bundle-key-0123");
    private static readonly Lazy<Task<ApiHost>> SharedHost = new(() => StartAsync());

    private readonly WebApplication _app;
    private Task<string>? _sharedSuperAdminToken;
    private DateTimeOffset _sharedSuperAdminTokenIssued;
    private int _disposed;

    private ApiHost(WebApplication app, TestDatabase database, Uri address, string superAdminEmail)
    {
        _app = app;
        Database = database;
        Client = new HttpClient { BaseAddress = address };
        SuperAdminEmail = superAdminEmail;
    }

    public TestDatabase Database { get; }

    public HttpClient Client { get; }

    public string SuperAdminEmail { get; }

    public IServiceProvider Services => _app.Services;

    public static Task<ApiHost> SharedAsync() => SharedHost.Value;

    /// <summary>
    /// The ids of this node's cluster's active grains of <paramref name="grainType"/>, from Orleans' management grain, asked
    /// as the system (it answers a client only for a caller signed by the cluster; the signature stays inside this call).
    /// </summary>
    public async Task<List<Orleans.Runtime.GrainId>> ActiveGrainsAsync(string grainType)
    {
        Services.GetRequiredService<CallerSigner>().EnterSystem();
        return await Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetActiveGrains(Orleans.Runtime.GrainType.Create(grainType));
    }

    public static async Task<ApiHost> StartAsync(TestDatabase? database = null, Action<IServiceCollection>? services = null, string[]? settings = null)
    {
        database ??= await TestDatabase.SharedAsync();
        var superAdminEmail = $"super-{Guid.NewGuid():N}@tests.local";
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Shohayota={database.AppConnectionString}",
            $"--ConnectionStrings:ShohayotaAdmin={database.AdminConnectionString}",
            $"--Shohayota:DataDirectory={database.Directory}",
            $"--Shohayota:Auth:SigningKey={SigningKey}",
            $"--Shohayota:Ui:KeyEncryptionKey={KeyEncryptionKey}",
            $"--Shohayota:Backups:SigningKey={Convert.ToBase64String(BundleKey)}",
            $"--Shohayota:Backups:PreviousSigningKeys={Convert.ToBase64String(PreviousBundleKey)}",
            $"--Shohayota:Cluster:ClusterId=test-{Guid.NewGuid():N}",
            $"--Shohayota:Cluster:SiloPort={TestDatabase.FreePort()}",
            $"--Shohayota:Cluster:GatewayPort={TestDatabase.FreePort()}",
            // Tests run backups and the retention purge on demand; schedules on a shared database would act on every test's tenants.
            "--Shohayota:Backups:Enabled=false",
            "--Shohayota:Purge:Enabled=false",
            // Hosts share the test database, and with it the webhook queue: only hosts that test delivery send.
            "--Shohayota:Webhooks:Deliver=false",
            // Tests of every feature share a host and export or verify in parallel (the system log among them);
            // HeavyRouteTests checks the bounds on a host with the defaults.
            "--Shohayota:Limits:HeavyPerTenant=16",
            "--Shohayota:Limits:HeavyPerNode=64",
            // Every test signs in from loopback: the per-address sign-in window (20 a minute by default) would refuse the suite.
            "--Shohayota:Auth:SignIn:AddressPermitLimit=1000000",
            // New passwords at the setting's floor (PBKDF2 at 100,000 iterations, half the default's CPU): the suite hashes a
            // password for every tenant it provisions and checks one at every sign-in.
            "--Shohayota:Auth:PasswordHashIterations=100000",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Orleans=Error",
        ];
        var app = await ShohayotaApp.BuildAsync([.. args, .. settings ?? []], builder =>
        {
            // One silo per test cluster: nothing to probe. Hosts on a fake clock would otherwise see their own
            // liveness timestamps jump, declare themselves dead and fail-fast the whole test process.
            builder.Services.Configure<Orleans.Configuration.ClusterMembershipOptions>(o => o.LivenessEnabled = false);
            services?.Invoke(builder.Services);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await CreateSuperAdminAsync(database, superAdminEmail);
        return new ApiHost(app, database, new Uri(address), superAdminEmail);
    }

    public async Task<string> SuperAdminTokenAsync() => (await LoginAsync(SuperAdminEmail, SuperAdminPassword)).AccessToken;

    /// <summary>One super-admin sign-in per host (each PBKDF2 check costs ~150 ms); the token outlives a test run.</summary>
    /// <summary>A cached super-admin token, renewed after ten minutes of the host's clock (tests may move a fake one).</summary>
    public Task<string> SharedSuperAdminTokenAsync()
    {
        var now = Services.GetRequiredService<TimeProvider>().GetUtcNow();
        if (_sharedSuperAdminToken is null || now - _sharedSuperAdminTokenIssued > TimeSpan.FromMinutes(10) || now < _sharedSuperAdminTokenIssued)
        {
            _sharedSuperAdminTokenIssued = now;
            _sharedSuperAdminToken = SuperAdminTokenAsync();
        }

        return _sharedSuperAdminToken;
    }

    /// <summary>POST /api/auth/login, whatever the outcome.</summary>
    public Task<HttpResponseMessage> PostLoginAsync(string email, string password) =>
        Client.PostAsJsonAsync("/api/auth/login", new { email, password });

    /// <summary>POST /api/admin/tenants/provision as the super-admin, whatever the outcome.</summary>
    public async Task<HttpResponseMessage> ProvisionAsync(TenantBody body, string? idempotencyKey = null)
    {
        using var request = Authorized(HttpMethod.Post, "/api/admin/tenants/provision", await SharedSuperAdminTokenAsync());
        request.Content = JsonContent.Create(body);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Client.SendAsync(request);
    }

    /// <summary>Provisions a tenant without signing its admin in; returns the tenant's id.</summary>
    public async Task<Guid> ProvisionIdAsync(TenantBody body)
    {
        using var response = await ProvisionAsync(body);
        response.EnsureSuccessStatusCode();
        return Guid.Parse((await response.JsonAsync())["id"]!.GetValue<string>());
    }

    /// <summary>Sends a super-admin request to the tenant admin API, e.g. <c>("POST", $"{id}/cancel")</c>.</summary>
    public async Task<HttpResponseMessage> AdminTenantsAsync(HttpMethod method, string path, object? body = null) =>
        await SendAsync(method, "/api/admin/tenants/" + path, await SharedSuperAdminTokenAsync(), body);

    /// <summary>The runbook's "Database Queries" SQL, run as an operator would (superuser, no RLS).</summary>
    public async Task<RunbookTenant?> RunbookTenantAsync(Guid id)
    {
        await using var connection = new NpgsqlConnection(Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT id, name, status, plan FROM tenants WHERE id = $1", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await select.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new RunbookTenant(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)) : null;
    }

    /// <summary>How many tenants rows carry this exact name (operator view).</summary>
    public async Task<long> CountTenantsNamedAsync(string name)
    {
        await using var connection = new NpgsqlConnection(Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM tenants WHERE name = $1", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = name });
        return (long)(await count.ExecuteScalarAsync())!;
    }

    public async Task<Session> LoginAsync(string email, string password)
    {
        using var response = await Client.PostAsJsonAsync("/api/auth/login", new { email, password });
        response.EnsureSuccessStatusCode();
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return new Session(body["accessToken"]!.GetValue<string>(), body["refreshToken"]!.GetValue<string>(), body);
    }

    /// <summary>Provisions a fresh tenant with its admin signed in.</summary>
    public async Task<TestTenant> ProvisionTenantAsync(string plan = "pro")
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var adminEmail = $"admin-{suffix}@tenant-{suffix}.test";
        const string password = "tenant-admin-password";
        using var request = Authorized(HttpMethod.Post, "/api/admin/tenants/provision", await SharedSuperAdminTokenAsync());
        request.Content = JsonContent.Create(new
        {
            name = $"Tenant {suffix}",
            contactEmail = $"contact@tenant-{suffix}.test",
            adminName = "Admin User",
            adminEmail,
            adminPassword = password,
            plan,
        });
        using var response = await Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var admin = await LoginAsync(adminEmail, password);
        return new TestTenant(Guid.Parse(body["id"]!.GetValue<string>()), body["name"]!.GetValue<string>(), adminEmail, password, admin);
    }

    /// <summary>Adds a user to the tenant through the API and signs it in.</summary>
    public async Task<Session> AddUserAsync(TestTenant tenant, string role = "member")
    {
        var email = $"{role}-{Guid.NewGuid():N}@tenant.test";
        using var request = Authorized(HttpMethod.Post, "/api/users", tenant.Admin.AccessToken);
        request.Content = JsonContent.Create(new { email, name = "Some User", password = "member-password", role });
        using var response = await Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await LoginAsync(email, "member-password");
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = Authorized(method, path, token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await Client.SendAsync(request);
    }

    public static HttpRequestMessage Authorized(HttpMethod method, string path, string? token)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    /// <summary>Stops the node gracefully; once (a test may stop a node it also disposes).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task CreateSuperAdminAsync(TestDatabase database, string email)
    {
        await using var connection = new NpgsqlConnection(database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at, updated_at)
            VALUES ('00000000-0000-0000-0000-000000000000', $1, $2, 'Test Super Admin', 'super_admin', $3, now(), now())
            """,
            connection);
        insert.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
        insert.Parameters.Add(new NpgsqlParameter { Value = email });
        insert.Parameters.Add(new NpgsqlParameter { Value = PasswordHashing.Hash(SuperAdminPassword, PasswordHashing.MinIterations) });
        await insert.ExecuteNonQueryAsync();
    }
}

public sealed record Session(string AccessToken, string RefreshToken, JsonObject Body);

public sealed record TestTenant(Guid Id, string Name, string AdminEmail, string AdminPassword, Session Admin);

/// <summary>The runbook's provisioning body; <see cref="New"/> makes one with unique names and e-mails.</summary>
public sealed record TenantBody(string? Name, string? ContactEmail, string? AdminName, string? AdminEmail, string? AdminPassword, string? Plan)
{
    public const string Password = "tenant-admin-password";

    public static TenantBody New(string? name = null, string plan = "pro")
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        return new TenantBody(name ?? $"Tenant {suffix}", $"contact@tenant-{suffix}.test", "Admin User", $"admin-{suffix}@tenant-{suffix}.test", Password, plan);
    }
}

public sealed record RunbookTenant(Guid Id, string Name, string Status, string Plan);

public static class HttpExtensions
{
    /// <summary>The stable problem <c>type</c> URI of an error kind, spelled out here so a change to it fails the tests.</summary>
    public static string ProblemType(string kind) => "https://shohayota.dev/problems/" + kind;

    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!;

    /// <summary>The problem document of an error response, after checking it is <c>application/problem+json</c>.</summary>
    public static async Task<JsonObject> ProblemAsync(this HttpResponseMessage response)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        return JsonSerializer.Deserialize<JsonObject>(await response.Content.ReadAsStringAsync())!;
    }

    /// <summary>The body without what differs per request (<c>traceId</c>, <c>requestId</c>): two refusals compared as the client sees them.</summary>
    public static async Task<string> BodyWithoutTraceAsync(this HttpResponseMessage response)
    {
        var node = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        node.Remove("traceId");
        node.Remove("requestId");
        return node.ToJsonString();
    }

    public static async Task<string> ProblemTypeAsync(this HttpResponseMessage response)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var body = JsonSerializer.Deserialize<JsonObject>(await response.Content.ReadAsStringAsync())!;
        return body["type"]!.GetValue<string>();
    }
}
