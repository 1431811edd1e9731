using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;
using Shohayota.Grains.Interfaces.Records;

namespace Shohayota.Api.Tests.Contacts;

/// <summary>CSV imports: every row checked by the API's rules, all or nothing, audited per record, within the quotas.</summary>
public sealed class ImportTests
{
    [Fact]
    public async Task ADryRunCountsAndListsTheBadRowsByRowAndColumnAndWritesNothing()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var csv = "\uFEFFName,email,Company,Colour\r\n"
            + "Ada,ada@example.com,Analytical,blue\r\n"
            + "Bob,not-an-address,,\r\n"
            + "\"Cyd, \"\"the\"\" third\",cyd@example.com,\"Multi\nline\",\r\n"
            + ",nameless@example.com,,\r\n"
            + "Eve,ADA@example.com,,\r\n";

        using var response = await PostCsvAsync(host, "/api/imports/customers?dryRun=true", tenant.Admin.AccessToken, csv);

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.JsonAsync();
        body["dryRun"]!.GetValue<bool>().Should().BeTrue();
        body["rows"]!.GetValue<int>().Should().Be(5);
        body["created"]!.GetValue<int>().Should().Be(2, "Ada and Cyd are valid");
        body["errorCount"]!.GetValue<int>().Should().Be(3);
        Errors(body).Should().Equal("3 email", "5 name", "6 email");
        body["ignoredColumns"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Equal("Colour");
        body["id"].Should().BeNull();
        (await CountAsync(host, "customers", tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task ARealRunWritesEveryRowWithOneAuditEntryEachAndCanBeReadBackByItsId()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var owner = tenant.Admin.Body["user"]!["id"]!.GetValue<string>();
        var csv = new StringBuilder("name,email,phone,status,tags,notes,ownerUserId\n");
        for (var i = 0; i < 40; i++)
        {
            csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"Imported {i:D2},row{i}@example.com,'+1 555 {i:D4},customer,vip; imported ;,\"Note, {i}\",{owner}\n");
        }

        using var bad = await PostCsvAsync(host, "/api/imports/customers", tenant.Admin.AccessToken, csv + ",missing@example.com,,,,,\n");
        using var imported = await PostCsvAsync(host, "/api/imports/customers", tenant.Admin.AccessToken, csv.ToString());
        var result = await imported.JsonAsync();
        var id = result["id"]!.GetValue<string>();
        using var again = await host.SendAsync(HttpMethod.Get, $"/api/imports/{id}", tenant.Admin.AccessToken);
        using var asMember = await host.SendAsync(HttpMethod.Get, $"/api/imports/{id}", member.AccessToken);
        using var memberImport = await PostCsvAsync(host, "/api/imports/customers", member.AccessToken, csv.ToString());
        using var list = await host.SendAsync(HttpMethod.Get, "/api/customers?q=row7@&pageSize=200", tenant.Admin.AccessToken);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=customer.created&pageSize=200", tenant.Admin.AccessToken);

        bad.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await bad.ProblemTypeAsync()).Should().EndWith("/import-invalid");
        imported.StatusCode.Should().Be(HttpStatusCode.Created, await imported.Content.ReadAsStringAsync());
        imported.Headers.Location!.ToString().Should().Be($"/api/imports/{id}");
        result["created"]!.GetValue<int>().Should().Be(40);
        (await CountAsync(host, "customers", tenant.Id)).Should().Be(40, "the refused file wrote nothing, the good one every row");
        var seven = (await list.JsonAsync())["items"]!.AsArray().Single()!;
        seven["phone"]!.GetValue<string>().Should().Be("+1 555 0007", "the ' an export puts before a formula character is taken off");
        seven["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal("vip", "imported");
        seven["notes"]!.GetValue<string>().Should().Be("Note, 7");
        seven["ownerUserId"]!.GetValue<string>().Should().Be(owner);
        seven["status"]!.GetValue<string>().Should().Be("customer");
        var entries = (await audit.JsonAsync())["items"]!.AsArray();
        entries.Should().HaveCount(40);
        entries.Should().OnlyContain(e => e!["details"]!["import"]!.GetValue<string>() == id);
        var read = await again.JsonAsync();
        read["records"]!.GetValue<string>().Should().Be("customers");
        read["created"]!.GetValue<int>().Should().Be(40);
        asMember.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        memberImport.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        using var verify = await host.SendAsync(HttpMethod.Get, "/api/audit-logs/verify", tenant.Admin.AccessToken);
        (await verify.JsonAsync())["valid"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task DuplicatesByEmailAreRefusedSkippedOrUpdatedAsAsked()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        using var created = await host.SendAsync(HttpMethod.Post, "/api/customers", token, new { name = "Old", email = "dup@example.com", company = "Kept Inc" });
        var existing = (await created.JsonAsync())["id"]!.GetValue<string>();
        // A warm grain holding the old row: the import must not leave it serving that.
        (await host.SendAsync(HttpMethod.Get, $"/api/customers/{existing}", token)).Dispose();
        const string csv = "name,email,phone\nNew name,DUP@example.com,123\nFresh,fresh@example.com,\n";

        using var refused = await PostCsvAsync(host, "/api/imports/customers", token, csv);
        using var skipped = await PostCsvAsync(host, "/api/imports/customers?onDuplicate=skip&dryRun=true", token, csv);
        using var updated = await PostCsvAsync(host, "/api/imports/customers?onDuplicate=update", token, csv);
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/customers/{existing}", token);

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        Errors(await refused.JsonAsync()).Should().Equal("2 email");
        var skip = await skipped.JsonAsync();
        (skip["created"]!.GetValue<int>(), skip["skipped"]!.GetValue<int>()).Should().Be((1, 1));
        var update = await updated.JsonAsync();
        (update["created"]!.GetValue<int>(), update["updated"]!.GetValue<int>()).Should().Be((1, 1));
        var customer = await read.JsonAsync();
        customer["name"]!.GetValue<string>().Should().Be("New name");
        customer["phone"]!.GetValue<string>().Should().Be("123");
        customer["company"]!.GetValue<string>().Should().Be("Kept Inc", "columns the file does not have keep their values");
        customer["version"]!.GetValue<int>().Should().Be(2);
        read.Headers.ETag!.Tag.Should().Be("\"2\"");
    }

    [Fact]
    public async Task AnImportBeyondTheQuotaIsRefusedWholeSayingByHowMuch()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        await QuotasTests.OverrideAsync(host, tenant.Id, new { customers = 2 });

        using var response = await PostCsvAsync(host, "/api/imports/customers", tenant.Admin.AccessToken, "name\na\nb\nc\n");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var problem = await response.ProblemAsync();
        problem["quota"]!.GetValue<string>().Should().Be("customers");
        problem["detail"]!.GetValue<string>().Should().Contain("by 1");
        (await CountAsync(host, "customers", tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task ContactsNeedTheTenantsOwnCustomersAndWellFormedIds()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var own = await ContactsTests.CreateCustomerAsync(host, tenant.Admin.AccessToken, "Own");
        var foreign = await ContactsTests.CreateCustomerAsync(host, other.Admin.AccessToken, "Foreign");
        var csv = $"firstName,lastName,customerId,title\nAnn,Own,{own},CEO\nBea,Foreign,{foreign},\nCid,Broken,not-a-guid,\n";

        using var dry = await PostCsvAsync(host, "/api/imports/contacts?dryRun=true", tenant.Admin.AccessToken, csv);
        using var real = await PostCsvAsync(host, "/api/imports/contacts", tenant.Admin.AccessToken, csv.Split('\n')[0] + "\n" + csv.Split('\n')[1] + "\n");

        Errors(await dry.JsonAsync()).Should().Equal("3 customerId", "4 customerId");
        real.StatusCode.Should().Be(HttpStatusCode.Created, await real.Content.ReadAsStringAsync());
        using var contacts = await host.SendAsync(HttpMethod.Get, $"/api/contacts?customerId={own}", tenant.Admin.AccessToken);
        var ann = (await contacts.JsonAsync())["items"]!.AsArray().Single()!;
        (ann["firstName"]!.GetValue<string>(), ann["title"]!.GetValue<string>()).Should().Be(("Ann", "CEO"));
        (await CountAsync(host, "contacts", other.Id)).Should().Be(0);
    }

    [Fact]
    public async Task FilesThatAreNotUsableCsvAreRefusedWhole()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;

        using var json = await host.SendAsync(HttpMethod.Post, "/api/imports/customers", token, new { name = "x" });
        using var latin1 = await PostAsync(host, "/api/imports/customers", token, [.. Encoding.ASCII.GetBytes("name\nM"), 0xFC, 0x6C, 0x6C, 0x65, 0x72]);
        using var noName = await PostCsvAsync(host, "/api/imports/customers", token, "email\na@example.com\n");
        using var badQuote = await PostCsvAsync(host, "/api/imports/customers", token, "name\n\"unclosed\n");
        using var tooMany = await PostCsvAsync(host, "/api/imports/customers?dryRun=true", token, "name\n" + string.Concat(Enumerable.Repeat("n\n", 50_001)));
        using var unknown = await PostCsvAsync(host, "/api/imports/customers?mode=fast&onDuplicate=merge", token, "name\nx\n");

        json.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        foreach (var (response, needle) in new[] { (latin1, "UTF-8"), (noName, "\"name\""), (badQuote, "CSV"), (tooMany, "50,000") })
        {
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, needle);
            (await response.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain(needle);
        }

        (await unknown.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("mode", "onDuplicate");
        (await CountAsync(host, "customers", tenant.Id)).Should().Be(0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AFileOverTheSizeLimitIsRefusedWholeWhetherItsLengthIsDeclaredOrNot(bool declared)
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        // A well-formed file of one-letter names, one byte over the limit: refused for its size, not for its rows.
        var file = new byte[ImportLimits.MaxBytes + 1];
        Encoding.ASCII.GetBytes("name\n").CopyTo(file, 0);
        for (var i = 5; i + 1 < file.Length; i += 2)
        {
            (file[i], file[i + 1]) = ((byte)'n', (byte)'\n');
        }

        file[^1] = (byte)'\n';
        using var request = ApiHost.Authorized(HttpMethod.Post, "/api/imports/customers", tenant.Admin.AccessToken);
        // Declared: refused from Content-Length before a byte is read. The client announces the upload and waits, as curl
        // does for files over 1 MiB, so it hears the 413 instead of writing 10 MiB into a connection the server closes.
        // Chunked: refused when the read passes the limit.
        request.Content = declared ? new ByteArrayContent(file) : new UndeclaredLengthContent(file);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv");
        request.Headers.ExpectContinue = declared;
        using var client = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) }) { BaseAddress = host.Client.BaseAddress };

        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        // The rest of the upload is not read: the answer closes the connection, so the client's next request takes a new one.
        response.Headers.ConnectionClose.Should().BeTrue();
        var problem = await response.ProblemAsync();
        problem["type"]!.GetValue<string>().Should().Be(HttpExtensions.ProblemType("payload-too-large"));
        problem["detail"]!.GetValue<string>().Should().Contain("10 MiB");
        (await CountAsync(host, "customers", tenant.Id)).Should().Be(0);
        using var after = await host.SendAsync(HttpMethod.Get, "/api/customers", tenant.Admin.AccessToken);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AnExportImportsIntoAnotherTenantWithEveryValueIntact()
    {
        var host = await ApiHost.SharedAsync();
        var source = await host.ProvisionTenantAsync();
        var target = await host.ProvisionTenantAsync();
        var names = new[] { "=cmd|' /C calc'!A0", "Plain", "Comma, \"Quote\"\nNew line", "-minus", "Ünïcödé 😀" };
        foreach (var name in names)
        {
            using var _ = await host.SendAsync(HttpMethod.Post, "/api/customers", source.Admin.AccessToken,
                new { name, email = $"{Guid.NewGuid():N}@example.com", phone = "+44 20", tags = new[] { "a", "b c" }, notes = "@note" });
        }

        using var request = ApiHost.Authorized(HttpMethod.Get, "/api/customers", source.Admin.AccessToken);
        request.Headers.Accept.ParseAdd("text/csv");
        using var export = await host.Client.SendAsync(request);
        var file = await export.Content.ReadAsByteArrayAsync();
        using var imported = await PostAsync(host, "/api/imports/customers", target.Admin.AccessToken, file);
        using var read = await host.SendAsync(HttpMethod.Get, "/api/customers?pageSize=200&sort=name", target.Admin.AccessToken);

        imported.StatusCode.Should().Be(HttpStatusCode.Created, await imported.Content.ReadAsStringAsync());
        var items = (await read.JsonAsync())["items"]!.AsArray();
        items.Select(c => c!["name"]!.GetValue<string>()).Should().BeEquivalentTo(names);
        items.Should().OnlyContain(c => c!["phone"]!.GetValue<string>() == "+44 20" && c["notes"]!.GetValue<string>() == "@note");
        items.Should().OnlyContain(c => c!["tags"]!.AsArray().Select(t => t!.GetValue<string>()).SequenceEqual(new[] { "a", "b c" }));
    }

    private static IEnumerable<string> Errors(JsonObject body) =>
        body["errors"]!.AsArray().Select(e => $"{e!["row"]!.GetValue<int>()} {e["column"]!.GetValue<string>()}");

    internal static Task<HttpResponseMessage> PostCsvAsync(ApiHost host, string path, string token, string csv) =>
        PostAsync(host, path, token, Encoding.UTF8.GetBytes(csv));

    private static async Task<HttpResponseMessage> PostAsync(ApiHost host, string path, string token, byte[] body)
    {
        using var request = ApiHost.Authorized(HttpMethod.Post, path, token);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv") { CharSet = "utf-8" };
        return await host.Client.SendAsync(request);
    }

    /// <summary>A body sent chunked: its length is not declared up front.</summary>
    private sealed class UndeclaredLengthContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static async Task<long> CountAsync(ApiHost host, string table, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE tenant_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
