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

    /// <summary>A bundle as a version-1 server wrote it: no contacts, pipeline, deals, activities or custom fields, no counts of them, signed again.</summary>
    public static byte[] AsVersionOne(byte[] bundle) => EditAndSign(bundle, json =>
    {
        StripCustomFields(json);
        StripActivities(json);
        StripDeals(json);
        json["version"] = 1;
        json.Remove("contacts");
        json.Remove("deletedContacts");
        json["counts"]!.AsObject().Remove("contacts");
        json["counts"]!.AsObject().Remove("deletedContacts");
    });

    /// <summary>A bundle as a version-2 server wrote it: no pipeline, deals, activities or custom fields, no counts of them, signed again.</summary>
    public static byte[] AsVersionTwo(byte[] bundle) => EditAndSign(bundle, json =>
    {
        StripCustomFields(json);
        StripActivities(json);
        StripDeals(json);
        json["version"] = 2;
    });

    /// <summary>A bundle as a version-3 server wrote it: no activities (no counts of them) and no custom fields, signed again.</summary>
    public static byte[] AsVersionThree(byte[] bundle) => EditAndSign(bundle, json =>
    {
        StripCustomFields(json);
        StripActivities(json);
        json["version"] = 3;
    });

    public static async Task<string> CreateActivityAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/activities", token, body);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    /// <summary>POST /api/activities/{id}/complete: completes (or with <paramref name="done"/> false reopens) a task, call or meeting.</summary>
    public static async Task CompleteActivityAsync(ApiHost host, string token, string activity, bool done = true)
    {
        using var response = await host.SendAsync(HttpMethod.Post, $"/api/activities/{activity}/complete", token, new { done });
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Three activities about <see cref="SeedSalesAsync"/>'s records: a note with a multi-line body about the customer; a task
    /// about the open deal and its first contact, due at a time given with an offset and microseconds, assigned, then
    /// completed; a meeting about the second contact, due, still open.
    /// </summary>
    public static async Task<Agenda> SeedActivitiesAsync(ApiHost host, TestTenant tenant, Sales sales, string? assignee = null)
    {
        var token = tenant.Admin.AccessToken;
        var note = await CreateActivityAsync(host, token, new
        {
            type = "note", subject = "Kick-off \"Ünïcode\"", body = "First line\nsecond line, Grüße", customerId = sales.Customer,
        });
        var task = await CreateActivityAsync(host, token, new
        {
            type = "task", subject = "Send the offer", body = (string?)null, dueAt = "2027-03-01T09:30:00.123456+02:00", assigneeUserId = assignee,
            dealId = sales.Open, contactId = sales.Contacts[0],
        });
        await CompleteActivityAsync(host, token, task);
        var meeting = await CreateActivityAsync(host, token, new
        {
            type = "meeting", subject = "Review", dueAt = "2027-04-01T12:00:00Z", customerId = sales.Customer, contactId = sales.Contacts[1],
        });
        return new Agenda(note, task, meeting);
    }

    public static async Task<string> CreateDealAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/deals", token, body);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    public static async Task MoveDealAsync(ApiHost host, string token, string deal, string stage)
    {
        using var response = await host.SendAsync(HttpMethod.Post, $"/api/deals/{deal}/stage", token, new { stageId = stage });
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The tenant's stages in order (GET /api/pipeline: the defaults are created on first use).</summary>
    public static async Task<List<JsonObject>> StagesAsync(ApiHost host, string token)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/api/pipeline", token);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["stages"]!.AsArray().Select(s => s!.AsObject()).ToList();
    }

    /// <summary>PUT /api/pipeline/stages as a tenant admin; the stages as they are now.</summary>
    public static async Task<List<JsonObject>> ReplaceStagesAsync(ApiHost host, string token, object[] stages, string? moveTo = null)
    {
        using var response = await host.SendAsync(HttpMethod.Put, "/api/pipeline/stages", token, new { stages, moveTo });
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["stages"]!.AsArray().Select(s => s!.AsObject()).ToList();
    }

    public static object Stage(JsonObject stage, string? name = null, string? kind = null, int? probability = null) => new
    {
        id = stage["id"]!.GetValue<string>(),
        name = name ?? stage["name"]!.GetValue<string>(),
        kind = kind ?? stage["kind"]!.GetValue<string>(),
        probability = probability ?? stage["probability"]!.GetValue<int>(),
    };

    /// <summary>
    /// A customer with two contacts, a custom pipeline (the defaults renamed, reordered, Proposal removed, Discovery added)
    /// and three deals on it: open with both contacts, an exact four-decimal amount and a close date; won (moved there, so
    /// closed); lost (created closed).
    /// </summary>
    public static async Task<Sales> SeedSalesAsync(ApiHost host, TestTenant tenant, string? owner = null)
    {
        var token = tenant.Admin.AccessToken;
        var customer = await CreateCustomerAsync(host, token, new { name = "Buys things" });
        var first = await CreateContactAsync(host, token, new { lastName = "First buyer", customerId = customer });
        var second = await CreateContactAsync(host, token, new { lastName = "Second buyer", customerId = customer });
        var defaults = await StagesAsync(host, token);
        var stages = await ReplaceStagesAsync(host, token,
        [
            Stage(defaults[1], "Qualified lead", probability: 30),
            Stage(defaults[0], "Inbound", probability: 5),
            new { name = "Discovery \"deep\"", kind = "open", probability = 40 },
            Stage(defaults[3]),
            Stage(defaults[5], "Lost for now"),
            Stage(defaults[4], "Closed won"),
        ]);
        var open = await CreateDealAsync(host, token, new
        {
            name = "Reactor \"Ünïcode\"", customerId = customer, contactIds = new[] { first, second }, amount = 1234.5678m, currency = "EUR",
            stageId = stages[2]["id"]!.GetValue<string>(), expectedCloseDate = "2027-02-28", ownerUserId = owner,
        });
        var won = await CreateDealAsync(host, token, new { name = "Won later", customerId = customer, amount = 99.50m, currency = "USD" });
        await MoveDealAsync(host, token, won, stages[5]["id"]!.GetValue<string>());
        var lost = await CreateDealAsync(host, token,
            new { name = "Lost at once", customerId = customer, contactIds = new[] { second }, amount = 0, currency = "JPY", stageId = stages[4]["id"]!.GetValue<string>() });
        return new Sales(customer, [first, second], stages.Select(s => s["name"]!.GetValue<string>()).ToList(), open, won, lost);
    }

    /// <summary>PUT /api/custom-fields/{recordType} as a tenant admin; the definitions as they are now.</summary>
    public static async Task<JsonArray> ReplaceCustomFieldsAsync(ApiHost host, string token, string recordType, params object[] fields)
    {
        using var response = await host.SendAsync(HttpMethod.Put, $"/api/custom-fields/{recordType}", token, new { fields });
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["fields"]!.AsArray();
    }

    /// <summary>GET /api/custom-fields/{recordType}: the definitions in their order.</summary>
    public static async Task<JsonArray> CustomFieldsAsync(ApiHost host, string token, string recordType)
    {
        using var response = await host.SendAsync(HttpMethod.Get, $"/api/custom-fields/{recordType}", token);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["fields"]!.AsArray();
    }

    /// <summary>A definition as the bundle writes it: every key, <c>options</c> <c>[]</c> unless a select.</summary>
    public static JsonObject Field(string key, string label, string type, bool required = false, params string[] options) => new()
    {
        ["key"] = key,
        ["label"] = label,
        ["type"] = type,
        ["options"] = new JsonArray(options.Select(o => (JsonNode)o).ToArray()),
        ["required"] = required,
    };

    /// <summary>A definition as the API answers it, with the bundle's keys in the bundle's order (options <c>[]</c> when absent).</summary>
    public static JsonObject AsField(JsonNode served) => Field(
        served["key"]!.GetValue<string>(), served["label"]!.GetValue<string>(), served["type"]!.GetValue<string>(),
        served["required"]?.GetValue<bool>() ?? false, served["options"]?.AsArray().Select(o => o!.GetValue<string>()).ToArray() ?? []);

    /// <summary>Rows of a tenant in one table, counted as the superuser (row-level security does not hide them).</summary>
    public static async Task<long> CountAsync(ApiHost host, string table, Guid tenantId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM {table} WHERE tenant_id = $1", connection);
        count.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenantId });
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>No custom-field definitions and no record's <c>customFields</c> (they came with version 4).</summary>
    private static void StripCustomFields(JsonObject json)
    {
        json.Remove("customFields");
        foreach (var section in new[] { "customers", "contacts", "deals" })
        {
            foreach (var row in json[section]?.AsArray() ?? [])
            {
                row!.AsObject().Remove("customFields");
            }
        }
    }

    private static void StripActivities(JsonObject json)
    {
        json.Remove("activities");
        json.Remove("deletedActivities");
        json["counts"]!.AsObject().Remove("activities");
        json["counts"]!.AsObject().Remove("deletedActivities");
    }

    private static void StripDeals(JsonObject json)
    {
        json.Remove("pipeline");
        json.Remove("deals");
        json.Remove("deletedDeals");
        json["counts"]!.AsObject().Remove("deals");
        json["counts"]!.AsObject().Remove("deletedDeals");
    }

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
            ["customFields"] = bundle["customFields"]!.DeepClone(),
            ["customers"] = bundle["customers"]!.DeepClone(),
            ["contacts"] = bundle["contacts"]!.DeepClone(),
            ["pipeline"] = bundle["pipeline"]!.DeepClone(),
            ["deals"] = bundle["deals"]!.DeepClone(),
            ["activities"] = bundle["activities"]!.DeepClone(),
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

/// <summary>What <see cref="Bundles.SeedSalesAsync"/> made: the stage names are in the pipeline's order.</summary>
public sealed record Sales(string Customer, IReadOnlyList<string> Contacts, IReadOnlyList<string> StageNames, string Open, string Won, string Lost);

/// <summary>What <see cref="Bundles.SeedActivitiesAsync"/> made.</summary>
public sealed record Agenda(string Note, string Task, string Meeting);
