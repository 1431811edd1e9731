using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Shohayota.Api.Tests.Infrastructure;

namespace Shohayota.Api.Tests.Backups;

/// <summary>Exports and restores over HTTP, and the README's checksum rule, as a consumer of a bundle would apply it.</summary>
public static class Bundles
{
    private static readonly byte[] Marker = Encoding.UTF8.GetBytes(",\"checksum\":");

    public static async Task<HttpResponseMessage> GetExportAsync(ApiHost host, string token, string? tenantId) =>
        await host.SendAsync(HttpMethod.Get, tenantId is null ? "/api/tenants/export" : $"/api/tenants/export?tenantId={tenantId}", token);

    /// <summary>A super-admin's export (a backup: password hashes included).</summary>
    public static async Task<byte[]> ExportAsync(ApiHost host, Guid tenantId)
    {
        using var response = await GetExportAsync(host, await host.SharedSuperAdminTokenAsync(), tenantId.ToString());
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    public static async Task<HttpResponseMessage> RestoreAsync(ApiHost host, byte[] bundle, string query = "")
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/admin/tenants/restore" + query, await host.SharedSuperAdminTokenAsync());
        request.Content = new ByteArrayContent(bundle);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await host.Client.SendAsync(request);
    }

    public static JsonObject Parse(byte[] bundle) => JsonNode.Parse(bundle)!.AsObject();

    /// <summary>The README's rule: SHA-256 of the bytes before the last <c>,"checksum":</c>.</summary>
    public static string ComputeChecksum(byte[] bundle) =>
        Convert.ToHexStringLower(SHA256.HashData(bundle.AsSpan(0, bundle.AsSpan().LastIndexOf(Marker))));

    /// <summary>
    /// Changes a bundle and gives it a matching checksum again, keeping the signature it had (what a careless or
    /// malicious editor without the server's key can do).
    /// </summary>
    public static byte[] Edit(byte[] bundle, Action<JsonObject> edit)
    {
        var signature = Parse(bundle)["signature"]?.DeepClone().AsObject();
        return Seal(bundle, edit, checksum => signature);
    }

    /// <summary>
    /// Changes a bundle and signs it again with a server key (by default the test hosts' current one): a bundle the
    /// server could have made, to test the rules a restore applies behind the signature.
    /// </summary>
    public static byte[] EditAndSign(byte[] bundle, Action<JsonObject> edit, byte[]? key = null) =>
        Seal(bundle, edit, checksum => Signature(key ?? ApiHost.BundleKey, checksum));

    /// <summary>The README's signature rule: HMAC-SHA256 of <c>shohayota.bundle.v1:</c> and the checksum's hex, under the key named by its id.</summary>
    public static JsonObject Signature(byte[] key, string checksum) => new()
    {
        ["algorithm"] = "hmac-sha256",
        ["keyId"] = Convert.ToHexStringLower(HMACSHA256.HashData(key, "shohayota.bundle-key-id"u8))[..16],
        ["value"] = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes("shohayota.bundle.v1:" + checksum))),
    };

    private static byte[] Seal(byte[] bundle, Action<JsonObject> edit, Func<string, JsonObject?> signature)
    {
        var json = Parse(bundle);
        json.Remove("checksum");
        json.Remove("signature");
        edit(json);
        var text = json.ToJsonString();
        var prefix = Encoding.UTF8.GetBytes(text[..^1]);
        var checksum = Convert.ToHexStringLower(SHA256.HashData(prefix));
        var signed = signature(checksum) is { } s ? ",\"signature\":" + s.ToJsonString() : "";
        return [.. prefix, .. Encoding.UTF8.GetBytes($",\"checksum\":{{\"algorithm\":\"sha256\",\"value\":\"{checksum}\"}}{signed}}}")];
    }

    /// <summary>Hard-deletes a tenant now (force), as the runbook's hard delete does.</summary>
    public static async Task PurgeAsync(ApiHost host, Guid tenantId)
    {
        using var response = await host.AdminTenantsAsync(HttpMethod.Post, $"{tenantId}/delete", new { hardDelete = true, force = true });
        response.EnsureSuccessStatusCode();
    }

    public static async Task<string> CreateCustomerAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", token, body);
        response.EnsureSuccessStatusCode();
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    public static async Task<string> CreateContactAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/contacts", token, body);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    /// <summary>A bundle as a version-1 server wrote it: no contacts section, no contact counts, signed again.</summary>
    public static byte[] AsVersionOne(byte[] bundle) => EditAndSign(bundle, json =>
    {
        json["version"] = 1;
        json.Remove("contacts");
        json.Remove("deletedContacts");
        json["counts"]!.AsObject().Remove("contacts");
        json["counts"]!.AsObject().Remove("deletedContacts");
    });

    /// <summary>Everything of the tenant except the restore's own audit entries, for comparing two exports.</summary>
    public static JsonObject Data(JsonObject bundle, int dropLastAuditEntries = 0)
    {
        var audit = bundle["auditLogs"]!.AsArray();
        return new JsonObject
        {
            ["tenant"] = bundle["tenant"]!.DeepClone(),
            ["plan"] = bundle["plan"]!.DeepClone(),
            ["overrides"] = bundle["overrides"]!.DeepClone(),
            ["users"] = bundle["users"]!.DeepClone(),
            ["customers"] = bundle["customers"]!.DeepClone(),
            ["contacts"] = bundle["contacts"]!.DeepClone(),
            ["auditCheckpoint"] = bundle["auditCheckpoint"]?.DeepClone(),
            ["auditLogs"] = new JsonArray(audit.Take(audit.Count - dropLastAuditEntries).Select(e => e!.DeepClone()).ToArray()),
        };
    }

    /// <summary>Rows straight into the table as the superuser (no audit entries): volume for export and restore tests.</summary>
    public static async Task SeedCustomersAsync(ApiHost host, Guid tenantId, int count, int notesLength = 20)
    {
        await using var connection = new Npgsql.NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var insert = new Npgsql.NpgsqlCommand(
            """
            INSERT INTO customers (tenant_id, id, name, email, status, tags, notes, created_at, updated_at, version)
            SELECT $1, gen_random_uuid(), 'Seeded ' || i, 'seeded' || i || '@example.test', 'lead', ARRAY['seed'], repeat('n', $3),
                   now() - make_interval(secs => i), now(), 1
            FROM generate_series(1, $2) i
            """,
            connection);
        insert.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenantId });
        insert.Parameters.Add(new Npgsql.NpgsqlParameter { Value = count });
        insert.Parameters.Add(new Npgsql.NpgsqlParameter { Value = notesLength });
        await insert.ExecuteNonQueryAsync();
    }
}
