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
    private static readonly Lazy<Task<ApiHost>> SharedHost = new(() => StartAsync());

    private readonly WebApplication _app;

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

    public static async Task<ApiHost> StartAsync(TestDatabase? database = null, Action<IServiceCollection>? services = null)
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
            $"--Shohayota:Cluster:ClusterId=test-{Guid.NewGuid():N}",
            $"--Shohayota:Cluster:SiloPort={TestDatabase.FreePort()}",
            $"--Shohayota:Cluster:GatewayPort={TestDatabase.FreePort()}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Orleans=Error",
        ];
        var app = await ShohayotaApp.BuildAsync(args, builder => services?.Invoke(builder.Services));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await CreateSuperAdminAsync(database, superAdminEmail);
        return new ApiHost(app, database, new Uri(address), superAdminEmail);
    }

    public async Task<string> SuperAdminTokenAsync() => (await LoginAsync(SuperAdminEmail, SuperAdminPassword)).AccessToken;

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
        using var request = Authorized(HttpMethod.Post, "/api/admin/tenants/provision", await SuperAdminTokenAsync());
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

    public async ValueTask DisposeAsync()
    {
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
        insert.Parameters.Add(new NpgsqlParameter { Value = PasswordHashing.Hash(SuperAdminPassword) });
        await insert.ExecuteNonQueryAsync();
    }
}

public sealed record Session(string AccessToken, string RefreshToken, JsonObject Body);

public sealed record TestTenant(Guid Id, string Name, string AdminEmail, string AdminPassword, Session Admin);

public static class HttpExtensions
{
    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!;

    public static async Task<string> ProblemTypeAsync(this HttpResponseMessage response)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var body = JsonSerializer.Deserialize<JsonObject>(await response.Content.ReadAsStringAsync())!;
        return body["type"]!.GetValue<string>();
    }
}
