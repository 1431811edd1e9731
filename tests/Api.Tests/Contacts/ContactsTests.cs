using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Shohayota.Api.Tests.Infrastructure;
using Shohayota.Api.Tests.Quotas;

namespace Shohayota.Api.Tests.Contacts;

/// <summary>Contacts: the customers' people, under the same guarantees as customers (single writer, version, audit, quota, isolation).</summary>
public sealed class ContactsTests
{
    [Fact]
    public async Task CreateReturns201AndTheContactReadsBackExactly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var customer = await CreateCustomerAsync(host, tenant.Admin.AccessToken, "Globex");
        var fields = new
        {
            firstName = "O'Brien \"Bob\"",
            lastName = "Ünal; DROP TABLE contacts; --",
            email = "bob+crm@example.com",
            phone = " +1 555 ",
            title = "Head of 😀",
            customerId = customer,
            ownerUserId = tenant.Admin.Body["user"]!["id"]!.GetValue<string>(),
            tags = new[] { "vip", "שלום" },
            notes = "Line 1\nLine 2 % _ \\",
        };

        using var created = await host.SendAsync(HttpMethod.Post, "/api/contacts", tenant.Admin.AccessToken, fields);
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var body = await created.JsonAsync();
        var id = body["id"]!.GetValue<string>();
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{id}", tenant.Admin.AccessToken);

        created.Headers.Location!.ToString().Should().Be($"/api/contacts/{id}");
        created.Headers.ETag!.Tag.Should().Be("\"1\"");
        read.Headers.ETag!.Tag.Should().Be("\"1\"");
        var stored = await read.JsonAsync();
        foreach (var field in new[] { "firstName", "lastName", "email", "phone", "title", "customerId", "ownerUserId", "notes" })
        {
            stored[field]?.GetValue<string>().Should().Be(body[field]?.GetValue<string>(), field);
        }

        stored["lastName"]!.GetValue<string>().Should().Be(fields.lastName);
        stored["customerId"]!.GetValue<string>().Should().Be(customer);
        stored["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal(fields.tags);
        stored["version"]!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task InvalidFieldsAreRefusedWithEveryErrorAndNothingIsWritten()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();

        using var nameless = await host.SendAsync(HttpMethod.Post, "/api/contacts", tenant.Admin.AccessToken,
            new { email = "not an address", title = new string('t', 201), tags = new[] { "" } });

        nameless.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await nameless.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("lastName", "email", "title", "tags");
        (await CountAsync(host, tenant.Id)).Should().Be(0);
    }

    [Fact]
    public async Task AnotherTenantsCustomerCannotBeLinkedAndAnotherTenantsContactAnswersLikeAMissingOne()
    {
        var host = await ApiHost.SharedAsync();
        var a = await host.ProvisionTenantAsync();
        var b = await host.ProvisionTenantAsync();
        var foreignCustomer = await CreateCustomerAsync(host, b.Admin.AccessToken, "B's");
        var foreignContact = await CreateContactAsync(host, b.Admin.AccessToken, new { lastName = "B's contact" });

        using var linked = await host.SendAsync(HttpMethod.Post, "/api/contacts", a.Admin.AccessToken, new { lastName = "x", customerId = foreignCustomer });
        using var read = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{foreignContact}", a.Admin.AccessToken);
        using var missing = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{Guid.NewGuid()}", a.Admin.AccessToken);
        using var update = await host.SendAsync(HttpMethod.Put, $"/api/contacts/{foreignContact}", a.Admin.AccessToken, new { lastName = "taken" });
        using var delete = await host.SendAsync(HttpMethod.Delete, $"/api/contacts/{foreignContact}", a.Admin.AccessToken);
        using var filtered = await host.SendAsync(HttpMethod.Get, $"/api/contacts?customerId={foreignCustomer}", a.Admin.AccessToken);

        linked.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await linked.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("customerId");
        read.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await read.BodyWithoutTraceAsync()).Should().Be(await missing.BodyWithoutTraceAsync());
        update.StatusCode.Should().Be(HttpStatusCode.NotFound);
        delete.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await filtered.JsonAsync())["items"]!.AsArray().Should().BeEmpty();
        (await CountAsync(host, a.Id)).Should().Be(0);
        using var intact = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{foreignContact}", b.Admin.AccessToken);
        (await intact.JsonAsync())["lastName"]!.GetValue<string>().Should().Be("B's contact");
    }

    [Fact]
    public async Task UpdatesNeedTheCurrentVersionAndEveryChangeIsAudited()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var id = await CreateContactAsync(host, member.AccessToken, new { firstName = "Ada", lastName = "Lovelace", title = "Analyst" });

        using var first = await SendAsync(host, HttpMethod.Put, $"/api/contacts/{id}", member.AccessToken, "\"1\"", new { firstName = "Ada", lastName = "Lovelace", title = "CTO" });
        using var stale = await SendAsync(host, HttpMethod.Put, $"/api/contacts/{id}", member.AccessToken, "\"1\"", new { lastName = "Stale" });
        using var staleDelete = await SendAsync(host, HttpMethod.Delete, $"/api/contacts/{id}", member.AccessToken, "\"1\"");
        using var deleted = await SendAsync(host, HttpMethod.Delete, $"/api/contacts/{id}", member.AccessToken, "\"2\"");
        using var gone = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{id}", member.AccessToken);
        using var audit = await host.SendAsync(HttpMethod.Get, $"/api/audit-logs?targetId={id}", tenant.Admin.AccessToken);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        first.Headers.ETag!.Tag.Should().Be("\"2\"");
        (await first.JsonAsync())["firstName"]!.GetValue<string>().Should().Be("Ada", "an update replaces every field with the body's");
        stale.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        staleDelete.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        deleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
        var entries = (await audit.JsonAsync())["items"]!.AsArray();
        entries.Select(e => e!["action"]!.GetValue<string>()).Should().BeEquivalentTo("contact.created", "contact.updated", "contact.deleted");
        var update = entries.Single(e => e!["action"]!.GetValue<string>() == "contact.updated")!;
        update["details"]!.ToJsonString().Should().Contain("CTO").And.Contain("Analyst");
        entries.Should().OnlyContain(e => e!["actor"]!["id"]!.GetValue<string>() == member.Body["user"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnIdempotencyKeyMakesARetriedCreateReturnTheSameContact()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var body = new { lastName = "Once" };

        using var first = await SendAsync(host, HttpMethod.Post, "/api/contacts", tenant.Admin.AccessToken, null, body, "retry-me");
        using var retry = await SendAsync(host, HttpMethod.Post, "/api/contacts", tenant.Admin.AccessToken, null, body, "retry-me");
        using var other = await SendAsync(host, HttpMethod.Post, "/api/contacts", tenant.Admin.AccessToken, null, new { lastName = "Other" }, "retry-me");

        first.StatusCode.Should().Be(HttpStatusCode.Created);
        (await retry.JsonAsync())["id"]!.GetValue<string>().Should().Be((await first.JsonAsync())["id"]!.GetValue<string>());
        other.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await CountAsync(host, tenant.Id)).Should().Be(1);
    }

    [Fact]
    public async Task ListsFilterSearchSortAndPageWithoutGapsOrRepeats()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var globex = await CreateCustomerAsync(host, token, "Globex");
        var expected = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            await CreateContactAsync(host, token, new { firstName = $"P{i}", lastName = $"Name{6 - i}", email = $"p{i}@globex.test", customerId = globex, tags = i % 2 == 0 ? new[] { "even" } : [] });
            expected.Add($"Name{6 - i}");
        }

        await CreateContactAsync(host, token, new { lastName = "Zed 100%", email = "zed@elsewhere.test" });

        var pages = new List<string>();
        string? cursor = null;
        do
        {
            using var page = await host.SendAsync(HttpMethod.Get, $"/api/contacts?customerId={globex}&sort=name&pageSize=3{(cursor is null ? "" : $"&cursor={cursor}")}", token);
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            var json = await page.JsonAsync();
            pages.AddRange(json["items"]!.AsArray().Select(c => c!["lastName"]!.GetValue<string>()));
            cursor = json["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        pages.Should().Equal(expected.Order(StringComparer.Ordinal));
        (await LastNamesAsync(host, token, "q=GLOBEX.test&pageSize=200")).Should().HaveCount(7);
        (await LastNamesAsync(host, token, "q=100%25")).Should().Equal("Zed 100%");
        (await LastNamesAsync(host, token, "q=%25")).Should().Equal("Zed 100%");
        (await LastNamesAsync(host, token, "tag=even")).Should().HaveCount(4);
        (await LastNamesAsync(host, token, "pageSize=200")).Should().HaveCount(8);
        using var unknown = await host.SendAsync(HttpMethod.Get, "/api/contacts?colour=red&pageSize=0&cursor=nope&customerId=x", token);
        unknown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unknown.JsonAsync())["errors"]!.AsObject().Select(e => e.Key).Should().BeEquivalentTo("colour", "pageSize", "cursor", "customerId");
    }

    [Fact]
    public async Task ACustomerWithContactsIsDeletedOnlyWithCascadeWhichRemovesAndAuditsThemAll()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var storageBefore = await StorageAsync(host, token);
        var customer = await CreateCustomerAsync(host, token, "Initech");
        var contacts = new[]
        {
            await CreateContactAsync(host, token, new { lastName = "Lumbergh", customerId = customer, notes = new string('n', 300) }),
            await CreateContactAsync(host, token, new { lastName = "Gibbons", customerId = customer }),
        };
        var unrelated = await CreateContactAsync(host, token, new { lastName = "Elsewhere" });
        // Reading a contact activates its grain: the cascade must not leave it serving the removed row.
        using (var warm = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{contacts[0]}", token))
        {
            warm.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var refused = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}", token);
        using var badFlag = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}?cascade=yes", token);
        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await refused.ProblemAsync())["detail"]!.GetValue<string>().Should().Contain("2 contacts");
        badFlag.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await CountAsync(host, tenant.Id)).Should().Be(3);

        using var cascaded = await host.SendAsync(HttpMethod.Delete, $"/api/customers/{customer}?cascade=true", token);

        cascaded.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await CountAsync(host, tenant.Id)).Should().Be(1);
        foreach (var id in contacts)
        {
            using var gone = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{id}", token);
            gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        using var kept = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{unrelated}", token);
        kept.StatusCode.Should().Be(HttpStatusCode.OK);
        using var audit = await host.SendAsync(HttpMethod.Get, "/api/audit-logs?action=contact.deleted", token);
        var removed = (await audit.JsonAsync())["items"]!.AsArray();
        removed.Select(e => e!["target"]!["id"]!.GetValue<string>()).Should().BeEquivalentTo(contacts);
        removed.Should().OnlyContain(e => e!["details"]!.ToJsonString().Contains(customer, StringComparison.Ordinal));
        (await StorageAsync(host, token) - storageBefore).Should().Be(100 + "Elsewhere".Length, "the customer's and its contacts' bytes are freed");
    }

    [Fact]
    public async Task ContactsCountTowardsTheStorageQuotaAndAreRefusedBeyondIt()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var token = tenant.Admin.AccessToken;
        var before = await StorageAsync(host, token);

        var id = await CreateContactAsync(host, token, new { firstName = "Sized", notes = new string('n', 1000) });
        var afterCreate = await StorageAsync(host, token);
        using (var update = await host.SendAsync(HttpMethod.Put, $"/api/contacts/{id}", token, new { firstName = "Sized", notes = new string('n', 10) }))
        {
            update.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var afterUpdate = await StorageAsync(host, token);
        await QuotasTests.OverrideAsync(host, tenant.Id, new { storageBytes = afterUpdate + 500 });
        using var tooBig = await host.SendAsync(HttpMethod.Post, "/api/contacts", token, new { lastName = "Big", notes = new string('n', 1000) });

        (afterCreate - before).Should().Be(100 + 5 + 1000);
        (afterUpdate - before).Should().Be(100 + 5 + 10);
        tooBig.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await tooBig.ProblemAsync())["quota"]!.GetValue<string>().Should().Be("storageBytes");
        (await CountAsync(host, tenant.Id)).Should().Be(1);
    }

    [Fact]
    public async Task ASuspendedTenantsContactsAreRefusedAndAnUnauthenticatedCallerIsToo()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var id = await CreateContactAsync(host, tenant.Admin.AccessToken, new { lastName = "Held" });
        using var anonymous = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{id}", null);
        (await Tenants.TenantLifecycleTests.ApplyAsync(host, tenant.Id, "suspend")).EnsureSuccessStatusCode().Dispose();

        using var read = await host.SendAsync(HttpMethod.Get, $"/api/contacts/{id}", tenant.Admin.AccessToken);
        using var create = await host.SendAsync(HttpMethod.Post, "/api/contacts", tenant.Admin.AccessToken, new { lastName = "New" });

        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        read.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        create.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await CountAsync(host, tenant.Id)).Should().Be(1);
    }

    [Fact]
    public async Task ACustomersTimelineShowsItsOwnAndItsContactsChangesNewestFirstToItsTeamOnly()
    {
        var host = await ApiHost.SharedAsync();
        var tenant = await host.ProvisionTenantAsync();
        var other = await host.ProvisionTenantAsync();
        var member = await host.AddUserAsync(tenant);
        var token = tenant.Admin.AccessToken;
        var customer = await CreateCustomerAsync(host, token, "Timeline Inc");
        var elsewhere = await CreateCustomerAsync(host, token, "Elsewhere");
        var contact = await CreateContactAsync(host, member.AccessToken, new { lastName = "Linked", customerId = customer });
        await CreateContactAsync(host, token, new { lastName = "Unrelated", customerId = elsewhere });
        using (var update = await host.SendAsync(HttpMethod.Put, $"/api/customers/{customer}", token, new { name = "Timeline GmbH" }))
        {
            update.EnsureSuccessStatusCode();
        }

        using (var moved = await host.SendAsync(HttpMethod.Put, $"/api/contacts/{contact}", member.AccessToken, new { lastName = "Linked", customerId = customer, title = "CFO" }))
        {
            moved.EnsureSuccessStatusCode();
        }

        var actions = new List<string>();
        string? cursor = null;
        do
        {
            using var page = await host.SendAsync(HttpMethod.Get, $"/api/customers/{customer}/timeline?pageSize=2{(cursor is null ? "" : $"&cursor={cursor}")}", member.AccessToken);
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            var body = await page.JsonAsync();
            actions.AddRange(body["items"]!.AsArray().Select(i => $"{i!["action"]!.GetValue<string>()} {i["targetId"]!.GetValue<string>()}"));
            body["items"]!.AsArray().Should().OnlyContain(i => i!["ip"] == null && i["userAgent"] == null);
            cursor = body["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        using var foreign = await host.SendAsync(HttpMethod.Get, $"/api/customers/{customer}/timeline", other.Admin.AccessToken);
        using var missing = await host.SendAsync(HttpMethod.Get, $"/api/customers/{Guid.NewGuid()}/timeline", other.Admin.AccessToken);

        actions.Should().Equal($"contact.updated {contact}", $"customer.updated {customer}", $"contact.created {contact}", $"customer.created {customer}");
        foreign.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await foreign.BodyWithoutTraceAsync()).Should().Be(await missing.BodyWithoutTraceAsync());
    }

    internal static async Task<string> CreateCustomerAsync(ApiHost host, string token, string name)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/customers", token, new { name });
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    internal static async Task<string> CreateContactAsync(ApiHost host, string token, object body)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/contacts", token, body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task<List<string>> LastNamesAsync(ApiHost host, string token, string query)
    {
        using var response = await host.SendAsync(HttpMethod.Get, $"/api/contacts?{query}", token);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync())["items"]!.AsArray().Select(c => c!["lastName"]!.GetValue<string>()).ToList();
    }

    private static async Task<long> StorageAsync(ApiHost host, string token) =>
        (await QuotasTests.QuotasAsync(host, token))["quotas"]!["storageBytes"]!["used"]!.GetValue<long>();

    private static async Task<HttpResponseMessage> SendAsync(ApiHost host, HttpMethod method, string path, string token, string? ifMatch, object? body = null,
        string? idempotencyKey = null)
    {
        using var request = ApiHost.Authorized(method, path, token);
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        if (body is not null)
        {
            request.Content = System.Net.Http.Json.JsonContent.Create(body);
        }

        return await host.Client.SendAsync(request);
    }

    /// <summary>The tenant's contact rows as the database holds them (the superuser: no row-level security in the way).</summary>
    private static async Task<long> CountAsync(ApiHost host, Guid tenant)
    {
        await using var connection = new NpgsqlConnection(host.Database.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM contacts WHERE tenant_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
