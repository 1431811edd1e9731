using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans;
using Orleans.Runtime;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Grains.Interfaces.Users;
using Shohayota.Grains.Security;

namespace Shohayota.Api.Tests.Auth;

/// <summary>Unknown refresh tokens are refused from one indexed read: no user grain is activated, nothing is audited.</summary>
public sealed class RefreshTokenRefusalTests
{
    private const string Password = "direct-user-password";

    [Fact]
    public async Task UnknownExpiredAndRevokedTokensActivateNoUserGrainAndWriteNoAuditRow()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var user = await InsertUserAsync(host, tenant.Id);
        var live = await InsertTokenAsync(host, tenant.Id, user, expiresIn: TimeSpan.FromDays(1));
        var expired = await InsertTokenAsync(host, tenant.Id, user, expiresIn: TimeSpan.FromDays(-1));
        var revoked = await InsertTokenAsync(host, tenant.Id, user, expiresIn: TimeSpan.FromDays(1), revoked: true);
        var randomTenants = Enumerable.Range(0, 100).Select(_ => Guid.NewGuid()).ToList();
        var tokens = Enumerable.Range(0, 100).Select(_ => RandomToken(tenant.Id, user, Guid.NewGuid()))
            .Concat(Enumerable.Range(0, 50).Select(_ => RandomToken(tenant.Id, user, live.Id)))
            .Concat(randomTenants.Select(t => RandomToken(t, Guid.NewGuid(), Guid.NewGuid())))
            .Append(expired.Token).Append(revoked.Token)
            .ToList();
        var auditRowsBefore = await AuditRowsAsync(host, [tenant.Id, .. randomTenants]);

        var refreshes = await SendAllAsync(host, "/api/auth/refresh", tokens);
        var logouts = await SendAllAsync(host, "/api/auth/logout", tokens.Except([expired.Token]));

        refreshes.Should().OnlyContain(r => r.Status == HttpStatusCode.Unauthorized && r.Body.Contains("/invalid-token", StringComparison.Ordinal));
        logouts.Should().OnlyContain(r => r.Status == HttpStatusCode.NoContent);
        var active = await ActiveUserGrainsAsync(host);
        active.Should().NotContain(GrainKeysOf(tenant.Id, user));
        active.Should().NotContain(key => randomTenants.Any(t => key.StartsWith(t.ToString("D"), StringComparison.Ordinal)));
        (await AuditRowsAsync(host, [tenant.Id, .. randomTenants])).Should().Be(auditRowsBefore);
    }

    [Fact]
    public async Task ALiveTokenStillRotatesReuseStillRevokesTheFamilyAndLogoutStillWorks()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var user = await InsertUserAsync(host, tenant.Id);
        var first = await InsertTokenAsync(host, tenant.Id, user, expiresIn: TimeSpan.FromDays(1));

        using var rotated = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = first.Token });
        var second = (await rotated.JsonAsync())["refreshToken"]!.GetValue<string>();
        using var reuse = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = first.Token });
        using var afterReuse = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = second });
        var other = await InsertTokenAsync(host, tenant.Id, user, expiresIn: TimeSpan.FromDays(1));
        using var logout = await host.Client.PostAsJsonAsync("/api/auth/logout", new { refreshToken = other.Token });
        using var afterLogout = await host.Client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = other.Token });

        rotated.StatusCode.Should().Be(HttpStatusCode.OK);
        reuse.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        afterReuse.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "reusing a rotated token revokes its whole family");
        logout.StatusCode.Should().Be(HttpStatusCode.NoContent);
        afterLogout.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await AuditActionsAsync(host, tenant.Id, user)).Should().Contain(["auth.refresh_token_reused", "auth.logout"]);
    }

    private static string GrainKeysOf(Guid tenant, Guid user) => Grains.Interfaces.Common.GrainKeys.User(tenant, user);

    private static string RandomToken(Guid tenant, Guid user, Guid tokenId) =>
        RefreshTokenFormat.Format(tenant, user, tokenId, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'));

    private static async Task<List<(HttpStatusCode Status, string Body)>> SendAllAsync(ApiHost host, string path, IEnumerable<string> tokens)
    {
        var results = new List<(HttpStatusCode, string)>();
        foreach (var chunk in tokens.Chunk(16))
        {
            results.AddRange(await Task.WhenAll(chunk.Select(async token =>
            {
                using var response = await host.Client.PostAsJsonAsync(path, new { refreshToken = token });
                return (response.StatusCode, await response.Content.ReadAsStringAsync());
            })));
        }

        return results;
    }

    private static async Task<List<string>> ActiveUserGrainsAsync(ApiHost host)
    {
        return (await host.ActiveGrainsAsync("user")).Select(id => id.Key.ToString()!).ToList();
    }

    /// <summary>A user row written straight to the database, as a user no one has touched since the node started.</summary>
    private static async Task<Guid> InsertUserAsync(ApiHost host, Guid tenant)
    {
        var id = Guid.NewGuid();
        await ExecuteAsync(host,
            """
            INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at, updated_at)
            VALUES ($1, $2, $3, 'Direct User', 'member', $4, now(), now())
            """,
            tenant, id, $"direct-{id:N}@tenant.test", PasswordHashing.Hash(Password, PasswordHashing.MinIterations));
        return id;
    }

    private static async Task<(Guid Id, string Token)> InsertTokenAsync(ApiHost host, Guid tenant, Guid user, TimeSpan expiresIn, bool revoked = false)
    {
        var id = Guid.NewGuid();
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var now = DateTimeOffset.UtcNow;
        await ExecuteAsync(host,
            """
            INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, secret_hash, created_at, expires_at, consumed_at, revoked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
            """,
            tenant, id, user, Guid.NewGuid(), SHA256.HashData(Encoding.UTF8.GetBytes(secret)), now.AddDays(-2), now.Add(expiresIn), revoked ? now : null);
        return (id, RefreshTokenFormat.Format(tenant, user, id, secret));
    }

    private static async Task<long> AuditRowsAsync(ApiHost host, Guid[] tenants)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM audit_logs WHERE tenant_id = ANY($1)", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = tenants });
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> AuditActionsAsync(ApiHost host, Guid tenant, Guid user)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT action FROM audit_logs WHERE tenant_id = $1 AND target_id = $2", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = tenant });
        select.Parameters.Add(new NpgsqlParameter { Value = user.ToString("D") });
        var actions = new List<string>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            actions.Add(reader.GetString(0));
        }

        return actions;
    }

    private static async Task ExecuteAsync(ApiHost host, string sql, params object?[] parameters)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        await command.ExecuteNonQueryAsync();
    }
}
