using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Shohayota.TestSupport;

namespace Shohayota.E2E.Tests.Infrastructure;

/// <summary>
/// The real server the browser talks to: <c>Shohayota.Api.dll</c> from the build output as a child process, on free
/// ports, against a private PostgreSQL, with a bootstrapped super-admin. Tests set up what they do not test through its API.
/// </summary>
public sealed class UiServer : IAsyncDisposable
{
    public const string SuperAdminPassword = "e2e-super-admin-password";
    public const string TenantAdminPassword = "tenant-admin-password";
    private static readonly string SigningKey = Convert.ToBase64String("e2e-test-signing-key-0123456789-abcdefghij"u8.ToArray());
    private static readonly string KeyEncryptionKey = Convert.ToBase64String("e2e-test-ui-key-encryption-key-0123456789"u8.ToArray());
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly AppProcess _process;
    private readonly TestDatabase _database;
    private readonly ConcurrentDictionary<Guid, string> _tokens = new();
    private string? _superAdminToken;

    private UiServer(AppProcess process, TestDatabase database, int port, string superAdminEmail)
    {
        _process = process;
        SuperAdminEmail = superAdminEmail;
        _database = database;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public string SuperAdminEmail { get; }

    /// <summary>Everything the server printed.</summary>
    public string LogFile => _process.LogFile;

    public static async Task<UiServer> StartAsync()
    {
        var database = await TestDatabase.StartAsync();
        var port = TestDatabase.FreePort();
        var data = Path.Combine(database.Directory, "node");
        Directory.CreateDirectory(data);

        var email = $"super-{Guid.NewGuid().ToString("N")[..8]}@e2e.test";
        string[] arguments =
        [
            $"--urls=http://127.0.0.1:{port}",
            $"--ConnectionStrings:Shohayota={database.AppConnectionString}",
            $"--ConnectionStrings:ShohayotaAdmin={database.AdminConnectionString}",
            $"--Shohayota:DataDirectory={data}",
            $"--Shohayota:Auth:SigningKey={SigningKey}",
            $"--Shohayota:Ui:KeyEncryptionKey={KeyEncryptionKey}",
            $"--Shohayota:Cluster:ClusterId=e2e-{port}",
            $"--Shohayota:Cluster:ServiceId=e2e-{port}",
            $"--Shohayota:Cluster:SiloPort={TestDatabase.FreePort()}",
            $"--Shohayota:Cluster:GatewayPort={TestDatabase.FreePort()}",
            // Schedules stay off: no test waits on a backup or a retention purge.
            "--Shohayota:Backups:Enabled=false",
            "--Shohayota:Purge:Enabled=false",
            // Every test signs in from loopback: the per-address sign-in window (20 a minute by default) would refuse the suite.
            "--Shohayota:Auth:SignIn:AddressPermitLimit=1000000",
            // New passwords at the setting's floor (PBKDF2 at 100,000 iterations, half the default's CPU): the suite hashes a
            // password for every tenant it provisions and checks one at every sign-in.
            "--Shohayota:Auth:PasswordHashIterations=100000",
            // Open pages re-check their user every 2 s instead of every minute: the idle-page test need not wait.
            "--Shohayota:Ui:RevalidationInterval=00:00:02",
            // The webhook test's receiver listens on http://127.0.0.1, and its deliveries need not wait for the default poll.
            "--Shohayota:Webhooks:AllowInsecureLocalTargets=true",
            "--Shohayota:Webhooks:PollInterval=00:00:00.200",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Shohayota=Information",
            $"--Shohayota:Bootstrap:SuperAdminEmail={email}",
            $"--Shohayota:Bootstrap:SuperAdminPassword={SuperAdminPassword}",
        ];
        var process = AppProcess.Start("Shohayota.Api.dll", "server", arguments, Path.Combine(database.Directory, "server.log"));
        var server = new UiServer(process, database, port, email);
        try
        {
            await process.WaitUntilHealthyAsync(server.Client, StartTimeout);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>The last lines the server printed, for failure messages.</summary>
    public string Output() => _process.Output();

    public async Task<string> SuperAdminTokenAsync() => _superAdminToken ??= await LoginAsync(SuperAdminEmail, SuperAdminPassword);

    public async Task<string> LoginAsync(string email, string password)
    {
        using var response = await Client.PostAsJsonAsync("/api/auth/login", new { email, password });
        await EnsureSuccessAsync(response);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["accessToken"]!.GetValue<string>();
    }

    /// <summary>An access token of the tenant's admin (signed in over the API once per tenant).</summary>
    public async Task<string> TokenAsync(TestTenant tenant) =>
        _tokens.TryGetValue(tenant.Id, out var token) ? token : _tokens[tenant.Id] = await LoginAsync(tenant.AdminEmail, tenant.AdminPassword);

    /// <summary>A tenant of its own for one test.</summary>
    public async Task<TestTenant> ProvisionTenantAsync(string plan = "pro", string? name = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var adminEmail = $"admin@tenant-{suffix}.test";
        name ??= $"Tenant {suffix}";
        using var response = await SendAsync(HttpMethod.Post, "/api/admin/tenants/provision", await SuperAdminTokenAsync(), new
        {
            name,
            contactEmail = $"contact@tenant-{suffix}.test",
            adminName = "Admin User",
            adminEmail,
            adminPassword = TenantAdminPassword,
            plan,
        });
        await EnsureSuccessAsync(response);
        var id = Guid.Parse((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        return new TestTenant(id, name, adminEmail, TenantAdminPassword);
    }

    /// <summary>Creates a user of <paramref name="tenant"/> as its admin.</summary>
    public async Task<TestUser> CreateUserAsync(TestTenant tenant, string role, string password)
    {
        var email = $"{role.Replace('_', '-')}-{Guid.NewGuid().ToString("N")[..8]}@{tenant.AdminEmail.Split('@')[1]}";
        using var response = await SendAsync(HttpMethod.Post, "/api/users", await TokenAsync(tenant), new { email, name = "Member User", password, role });
        await EnsureSuccessAsync(response);
        var id = Guid.Parse((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        return new TestUser(id, email, password);
    }

    public async Task DisableUserAsync(TestTenant tenant, TestUser user)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/api/users/{user.Id}/disable", await TokenAsync(tenant));
        await EnsureSuccessAsync(response);
    }

    public async Task SuspendAsync(Guid tenant, string reason)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/api/admin/tenants/{tenant}/suspend", await SuperAdminTokenAsync(), new { reason });
        await EnsureSuccessAsync(response);
    }

    /// <summary>GET /api/admin/tenants/{id} as the super-admin: the tenant as the API reports it.</summary>
    public async Task<JsonObject> GetTenantAsync(Guid tenant)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/api/admin/tenants/{tenant}", await SuperAdminTokenAsync());
        await EnsureSuccessAsync(response);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, object? body = null)
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

        return await Client.SendAsync(request);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
        await _database.DisposeAsync();
    }
}

/// <summary>A tenant a test provisioned for itself, and its admin's credentials.</summary>
public sealed record TestTenant(Guid Id, string Name, string AdminEmail, string AdminPassword);

/// <summary>A user a test created in its tenant.</summary>
public sealed record TestUser(Guid Id, string Email, string Password);
