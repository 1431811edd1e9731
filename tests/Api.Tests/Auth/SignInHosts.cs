using System.Net.Http.Json;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Auth;

/// <summary>
/// Hosts with sign-in limits of their own, behind a trusted balancer on loopback so each test picks its client addresses
/// with X-Forwarded-For. The shared host's per-address window is opened wide (every test signs in from loopback).
/// </summary>
public static class SignInHosts
{
    public const string Proxy = "--Shohayota:TrustedProxies=127.0.0.1";

    /// <summary>
    /// Tiny limits: three attempts per address per half hour, one hash at a time with no queue, and a wait of 30 s after
    /// a single failure. Its tests must run one after another (one class): they share the one hash slot.
    /// </summary>
    private static readonly Lazy<Task<ApiHost>> Strict = new(() => StartAsync(
        "--Shohayota:Auth:SignIn:AddressPermitLimit=3",
        "--Shohayota:Auth:SignIn:AddressWindow=00:30:00",
        "--Shohayota:Auth:SignIn:HashConcurrency=1",
        "--Shohayota:Auth:SignIn:HashQueueLimit=0",
        "--Shohayota:Auth:SignIn:HashQueueTimeout=00:00:00",
        "--Shohayota:Auth:SignIn:DelayAfterFailures=1",
        "--Shohayota:Auth:SignIn:DelayBase=00:00:30"));

    /// <summary>The default limits, but no per-address window worth the name and no progressive delay: the lockout alone.</summary>
    private static readonly Lazy<Task<ApiHost>> Lockout = new(() => StartAsync("--Shohayota:Auth:SignIn:DelayBase=00:00:00"));

    public static Task<ApiHost> StrictAsync() => Strict.Value;

    public static Task<ApiHost> LockoutAsync() => Lockout.Value;

    private static int _addresses;

    /// <summary>A client address (of the benchmarking range 198.18.0.0/15), different on every call.</summary>
    public static string NewAddress()
    {
        var n = Interlocked.Increment(ref _addresses);
        return $"198.18.{n / 250 % 250}.{n % 250 + 1}";
    }

    /// <summary>POST /api/auth/login as a client at <paramref name="address"/> behind the trusted balancer.</summary>
    public static Task<HttpResponseMessage> LoginFromAsync(this ApiHost host, string address, string email, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = JsonContent.Create(new { email, password }) };
        request.Headers.Add("X-Forwarded-For", address);
        return host.Client.SendAsync(request);
    }

    /// <summary>Audit entries of one action in a tenant's chain, as (details) in order.</summary>
    public static async Task<List<string?>> AuditDetailsAsync(this ApiHost host, Guid tenantId, string action)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT details FROM audit_logs WHERE tenant_id = $1 AND action = $2 ORDER BY seq", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        select.Parameters.Add(new NpgsqlParameter { Value = action });
        await using var reader = await select.ExecuteReaderAsync();
        var details = new List<string?>();
        while (await reader.ReadAsync())
        {
            details.Add(reader.IsDBNull(0) ? null : reader.GetString(0));
        }

        return details;
    }

    private static async Task<ApiHost> StartAsync(params string[] settings)
    {
        var shared = await ApiHost.SharedAsync();
        return await ApiHost.StartAsync(shared.Database, settings: [Proxy, .. settings]);
    }
}
